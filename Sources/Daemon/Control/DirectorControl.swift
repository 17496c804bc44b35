import Config
import Control
import Failover
import Foundation
import IPVS
import Logging
import Mirror
import PeerProtocol
import PeerTransport
import SyncWire

/// The elected director's answers on the control socket: `status`, `stats` (once or `follow`), `conns` (filtered
/// by VIP or service), `drill` (progress lines, then the report) and `audit` (the kernel held against the mirror
/// now). The shapes are in the Control module's README.
public struct DirectorControl: ControlResponder {
    let service: DirectorService
    let startedAt = ContinuousClock.now
    /// The kernel's connections now, for the drill's re-send (`/proc/net/ip_vs_conn`).
    let kernelConnections: @Sendable () -> [SyncConnection]
    /// The real servers' health (nil: no checks).
    let health: HealthMonitor?
    /// The order-sensitive schedulers' inputs as the kernel holds them now (nil: not known here).
    let scheduling: (@Sendable () -> SchedulingFingerprint?)?
    /// The kernel's connections this cluster member made (`LOCAL`), for the member drill's re-send.
    let ownKernelConnections: @Sendable () -> [SyncConnection]
    /// The packets the kernel's virtual services have taken so far (nil: unknown), for the member drill.
    let inboundPackets: @Sendable () -> UInt64?

    /// Answers for `service`.
    public init(
        service: DirectorService,
        health: HealthMonitor? = nil,
        scheduling: (@Sendable () -> SchedulingFingerprint?)? = nil,
        ownKernelConnections: @escaping @Sendable () -> [SyncConnection] = { [] },
        inboundPackets: @escaping @Sendable () -> UInt64? = { nil },
        kernelConnections: @escaping @Sendable () -> [SyncConnection]
    ) {
        self.service = service
        self.health = health
        self.scheduling = scheduling
        self.ownKernelConnections = ownKernelConnections
        self.inboundPackets = inboundPackets
        self.kernelConnections = kernelConnections
    }

    public func respond(to request: ControlRequest, writer: ControlReplyWriter) async throws {
        switch request.command {
        case "status":
            try await writer.write(status())
        case "stats":
            let follow = request.arguments["follow"]?.boolValue ?? false
            let seconds = request.arguments["interval_seconds"]?.doubleValue ?? 1
            guard seconds > 0, seconds <= 3600 else {
                throw ControlError.refused("interval_seconds must be more than 0 and at most 3600, found \(seconds)")
            }
            // The rate needs two samples: the first line's is over its first quarter second.
            var previous = (entries: stats(previousEntries: 0, since: .now).1, at: ContinuousClock.now)
            try await Task.sleep(for: .milliseconds(250))
            repeat {
                let (object, entries) = stats(previousEntries: previous.entries, since: previous.at)
                previous = (entries, .now)
                try await writer.write(object)
                if follow { try await Task.sleep(for: .milliseconds(Int64(seconds * 1000))) }
            } while follow
        case "conns":
            let reply = try ConnsReply(arguments: request.arguments)
            guard let read = mirrorReader() else { return }
            try await reply.stream(from: read) { batch in try await writer.write(contentsOf: batch) }
        case "drill" where request.arguments["member"] != nil:
            let force = request.arguments["force"]?.boolValue ?? false
            let node = service.configuration.session.node
            let member = request.arguments["member"]?.stringValue ?? node
            guard member == node else {
                throw ControlError.refused(
                    "this is \(node): a member drill drains the member it runs on; run it on \(member)'s host"
                )
            }
            let hold = try request.arguments["seconds"]?.doubleValue.map { seconds throws(ControlError) in
                guard seconds > 0, seconds <= 3600 else {
                    throw ControlError.refused("seconds must be more than 0 and at most 3600, found \(seconds)")
                }
                return Duration.milliseconds(Int64(seconds * 1000))
            }
            let report = await service.drillMember(
                force: force,
                hold: hold,
                ownConnections: ownKernelConnections,
                inboundPackets: inboundPackets
            ) { step in
                try? await writer.write(.object(["progress": .string(step)]))
            }
            try await writer.write(.object(["report": try JSONValue(encoding: report)]))
        case "drill":
            let force = request.arguments["force"]?.boolValue ?? false
            let report = await service.drill(force: force, kernelConnections: kernelConnections) { step in
                try? await writer.write(.object(["progress": .string(step)]))
            }
            try await writer.write(.object(["report": try JSONValue(encoding: report)]))
        case "audit":
            let report: KernelAuditReport
            do {
                report = try await service.auditNow()
            } catch {
                throw ControlError.refused(error.description)
            }
            try await writer.write(try JSONValue(encoding: report))
        default:
            throw ControlError.refused(
                "unknown command \"\(request.command)\" (known: status, stats, conns, drill, audit)"
            )
        }
    }

    // MARK: - status

    /// The `status` reply: role, priority, VIPs (configured and on the host), sync figures, peers (a peer unheard
    /// for the dead interval is `dead`, with the state it last advertised), the days left on this node's certificate
    /// (`tls_expires_in_days`, negative once expired).
    public func status() -> JSONValue {
        let director = service.director
        let notValidAfter = service.tls.current.identity.notValidAfter
        var object: [String: JSONValue] = [
            "tls_expires_in_days": .integer(
                Int64(CertificateExpiry.daysLeft(notValidAfter: notValidAfter, now: service.clock()))
            ),
            "node": .string(service.configuration.session.node),
            "role": .string(director.role.rawValue),
            "vips": .array(director.settings.vips.map { .string("\($0.address)/\($0.prefixLength)") }),
            "vips_held": .bool(director.vipsHeld),
            "vips_on_host": .array(director.heldVIPs.map { .string("\($0.address)/\($0.prefixLength)") }),
            "uptime_seconds": .number((ContinuousClock.now - startedAt).inSeconds),
        ]
        if let election = service.election.election {
            object["priority"] = .integer(Int64(election.configuration.priority))
            object["effective_priority"] = .integer(Int64(election.effectivePriority))
            object["in_sync"] = .bool(election.inSync)
            if !election.failingConditions.isEmpty {
                object["failing_conditions"] = .array(election.failingConditions.sorted().map { .string($0.name) })
            }
        }
        if let health {
            object["servers_down"] = health.downList
        }
        if let fingerprint = scheduling?(), !fingerprint.services.isEmpty {
            // Equal on two directors of the same kernel: they schedule a new flow to the same real server.
            object["scheduling"] = fingerprint.json
        }
        if let transition = director.lastTransition {
            object["last_transition"] = .object([
                "from": .string(transition.from.rawValue),
                "to": .string(transition.to.rawValue),
                "reason": .string(transition.reason),
                "seconds_ago": .number((ContinuousClock.now - transition.at).inSeconds),
            ])
        }
        if let steps = director.lastTakeover {
            // Each step from the start of the takeover: the VIPs on their interfaces, their first announcement,
            // then the capture, the kernel master daemon and the mirror's source.
            var takeover: [String: JSONValue] = [
                "sync_master_ms": .number(steps.syncMaster.inSeconds * 1000),
                "seconds_ago": .number((ContinuousClock.now - steps.at).inSeconds),
            ]
            if let added = steps.vipsAdded { takeover["vips_added_ms"] = .number(added.inSeconds * 1000) }
            if let announced = steps.announced { takeover["announced_ms"] = .number(announced.inSeconds * 1000) }
            object["last_takeover"] = .object(takeover)
        }
        var sync: [String: JSONValue] = [:]
        switch director.mirroring.mirroring {
        case .source(let source, _):
            let figures = source.figures
            sync = [
                "table_size": .integer(Int64(figures.tableSize)),
                "position": .integer(Int64(figures.lastSequence)),
                "stream": .string(String(source.streamID, radix: 16)),
                "capture_drops": .integer(Int64(figures.captureDrops)),
                "kernel_reconciled": .integer(Int64(figures.reconciled)),
            ]
            if let held = figures.kernelConnections { sync["kernel_connections"] = .integer(Int64(held)) }
        case .sink(let sink):
            let figures = sink.figures
            sync = [
                "table_size": .integer(Int64(figures.tableSize)),
                "position": .integer(Int64(figures.position.sequence)),
                "stream": .string(String(figures.position.streamID, radix: 16)),
                "lag_ms_p99": .number(Double(figures.lagMicrosecondsP99) / 1000),
                "kernel_queued": .integer(Int64(figures.kernelQueued)),
                "kernel_drops": .integer(Int64(figures.kernelDrops)),
                "kernel_resent": .integer(Int64(figures.resent)),
                "kernel_lost": .integer(Int64(figures.kernelLost)),
            ]
            if let held = figures.kernelConnections {
                sync["kernel_connections"] = .integer(Int64(held))
                sync["kernel_missing"] = .integer(Int64(figures.kernelMissing))
                sync["kernel_repaired"] = .integer(Int64(figures.kernelRepaired))
            }
        case .idle:
            break
        }
        object["sync"] = .object(sync)
        if let cluster = clusterStatus() { object["cluster"] = cluster }
        let now = ContinuousClock.now
        let election = service.election.election
        let electionNow = service.election.electionTimeNow
        let heartbeats = service.heartbeats.peers
        object["peers"] = .array(
            director.peers.sorted { $0.key < $1.key }.map { name, view in
                // A peer the election finds dead (unheard for the UDP path's detection time, or the dead interval)
                // is dead, whatever it last said: a monitoring script must never see two actives because one of
                // them crashed.
                let dead =
                    view.advert.state != .stopped
                    && (election.map { !$0.isAlive(peer: name, now: electionNow) }
                        ?? (now - view.receivedAt > service.deadInterval))
                var peer: [String: JSONValue] = [
                    "name": .string(name),
                    "state": .string(dead ? "dead" : view.advert.state.rawValue),
                    "priority": .integer(Int64(view.advert.priority)),
                    "in_sync": .bool(!dead && view.advert.inSync),
                    "link": .string(service.relay.isLinked(to: name) ? "up" : "down"),
                    "last_heard_ms": .number((now - view.receivedAt).inSeconds * 1000),
                    "table_size": .integer(Int64(view.advert.tableSize)),
                    "ack_sequence": .integer(Int64(view.advert.position.sequence)),
                ]
                if let held = view.advert.kernelConnections { peer["kernel_connections"] = .integer(Int64(held)) }
                if dead { peer["last_advertised"] = .string(view.advert.state.rawValue) }
                if let udp = heartbeats[name] {
                    var path: [String: JSONValue] = [
                        "received": .integer(Int64(udp.received)),
                        "longest_silence_ms": .number(udp.longestSilence.inSeconds * 1000),
                        "failed": .bool(election?.udpPathFailed(name) ?? false),
                    ]
                    if let last = udp.lastReceived { path["last_heard_ms"] = .number((now - last).inSeconds * 1000) }
                    peer["udp"] = .object(path)
                }
                return .object(peer)
            }
        )
        return .object(object)
    }

    // MARK: - stats

    /// The statistics now, flat keys as `lvsync stats` prints them (without a meaningful rate): what the metrics
    /// endpoint publishes.
    public func currentStats() -> [String: JSONValue] {
        stats(previousEntries: 0, since: .now).0.objectValue ?? [:]
    }

    func stats(previousEntries: Int, since: ContinuousClock.Instant) -> (JSONValue, Int) {
        let side: SyncStatsLine.Side
        switch service.director.mirroring.mirroring {
        case .source(let source, _): side = .active(source.figures)
        case .sink(let sink): side = .standby(sink.figures)
        case .idle:
            return (.object(["election.role": .string(service.director.role.rawValue)]), 0)
        }
        let line = SyncStatsLine(
            side: side,
            counters: service.counters.all,
            previousEntries: previousEntries,
            elapsedSeconds: (ContinuousClock.now - since).inSeconds
        )
        var object: [String: JSONValue] = ["election.role": .string(service.director.role.rawValue)]
        object.merge(health?.statsFields ?? [:]) { _, new in new }
        for (key, value) in line.metadata {
            let text = "\(value)"
            if let integer = Int64(text) {
                object[key] = .integer(integer)
            } else if let number = Double(text) {
                object[key] = .number(number)
            } else {
                object[key] = .string(text)
            }
        }
        return (.object(object), line.entries)
    }

    // MARK: - conns

    /// The mirror table's listing in parts (``ConnsReply``): the active's or the standby's table, nil when idle.
    func mirrorReader() -> ConnsReply.Reader? {
        switch service.director.mirroring.mirroring {
        case .source(let source, _): return { source.connections(from: $0, limit: $1) }
        case .sink(let sink): return { sink.connections(from: $0, limit: $1) }
        case .idle: return nil
        }
    }
}

extension JSONValue {
    /// A value's JSON form, through its `Encodable` conformance.
    init(encoding value: some Encodable) throws {
        let data = try JSONEncoder().encode(value)
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }
}
