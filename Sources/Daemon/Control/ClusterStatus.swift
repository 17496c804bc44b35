import Control
import PeerProtocol

extension DirectorControl {
    /// The `cluster` block of a member's `status`: each other member, the link to it, where its stream stands here
    /// (position, table, lag, the kernel's drops while injecting it) and how far it has taken this member's own
    /// stream (`own_stream`); `own_connections`: the connections this member's own traffic made (its stream's table);
    /// `announce`: whether its VIPs' routes are in the announcement table, since when, or whose streams it waits for.
    func clusterStatus() -> JSONValue? {
        let director = service.director
        guard director.isMember, let source = director.source else { return nil }
        let own = source.figures
        let members = director.members.sorted { $0.key < $1.key }.map { name, sink -> JSONValue in
            let figures = sink.figures
            var member: [String: JSONValue] = [
                "name": .string(name),
                "link": .string(service.relay.isLinked(to: name) ? "up" : "down"),
                "stream": .string(String(figures.position.streamID, radix: 16)),
                "position": .integer(Int64(figures.position.sequence)),
                "table_size": .integer(Int64(figures.tableSize)),
                "lag_ms_p99": .number(Double(figures.lagMicrosecondsP99) / 1000),
                "kernel_drops": .integer(Int64(figures.kernelDrops)),
                "kernel_lost": .integer(Int64(figures.kernelLost)),
                "kernel_missing": .integer(Int64(figures.kernelMissing)),
            ]
            if let taking = own.standbys[name] {
                var stream: [String: JSONValue] = [
                    "state": .string(taking.state),
                    "acknowledged": .integer(Int64(taking.acknowledgedSequence)),
                    "behind": .integer(Int64(own.lastSequence &- min(own.lastSequence, taking.acknowledgedSequence))),
                ]
                if let snapshot = taking.snapshot {
                    stream["snapshot_sent"] = .integer(Int64(snapshot.sent))
                    stream["snapshot_total"] = .integer(Int64(snapshot.total))
                }
                member["own_stream"] = .object(stream)
            }
            return .object(member)
        }
        var cluster: [String: JSONValue] = [
            "members": .array(members),
            "own_connections": .integer(Int64(own.tableSize)),
            "received_connections": .integer(Int64(director.members.values.reduce(0) { $0 + $1.figures.tableSize })),
        ]
        if let table = director.settings.announceTable {
            // The routes the routing daemon exports: in the table once this member holds the cluster's connections.
            var announce: [String: JSONValue] = [
                "table": .integer(Int64(table)),
                "announcing": .bool(director.isAnnouncing),
                "waiting_for": .array(service.announcementWaitsFor.map { .string($0) }),
            ]
            if let since = director.announcingSince {
                announce["seconds"] = .number((ContinuousClock.now - since).inSeconds)
            }
            if let watch = service.routingWatch {
                announce["routing_daemon"] = Self.routing(watch)
            }
            cluster["announce"] = .object(announce)
        }
        return .object(cluster)
    }

    /// FRR's sessions as last read: each BGP neighbour (state, uptime, prefixes sent and received) and BFD peer.
    static func routing(_ watch: RoutingWatch) -> JSONValue {
        var routing: [String: JSONValue] = ["daemon": .string("frr"), "vty": .string(watch.vty.directory)]
        guard let reading = watch.latest else {
            routing["error"] = .string("not read yet")
            return .object(routing)
        }
        routing["read_seconds_ago"] = .number((ContinuousClock.now - reading.at).inSeconds)
        if let error = reading.error { routing["error"] = .string(error) }
        if let sessions = reading.sessions {
            routing["bgp"] = .array(
                sessions.bgp.map { peer in
                    var entry: [String: JSONValue] = [
                        "neighbour": .string(peer.address), "family": .string(peer.family),
                        "state": .string(peer.state),
                    ]
                    if let uptime = peer.uptimeSeconds { entry["uptime_seconds"] = .number(uptime) }
                    if let sent = peer.prefixesSent { entry["prefixes_sent"] = .integer(Int64(sent)) }
                    if let received = peer.prefixesReceived { entry["prefixes_received"] = .integer(Int64(received)) }
                    return .object(entry)
                }
            )
            routing["bfd"] = .array(
                sessions.bfd.map { peer in
                    var entry: [String: JSONValue] = ["peer": .string(peer.address), "status": .string(peer.status)]
                    if let seconds = peer.seconds { entry["seconds"] = .integer(Int64(seconds)) }
                    return .object(entry)
                }
            )
        }
        return .object(routing)
    }
}
