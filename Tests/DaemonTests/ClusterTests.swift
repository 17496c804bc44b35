import Config
import Control
import Daemon
import Foundation
import HostNetwork
import IPVS
import LVSyncTestSupport
import Mirror
import PeerProtocol
import ServiceLifecycle
import SyncWire
import Synchronization
import Testing

/// Cluster members in one process, each a daemon built from its configuration file (with a `cluster` section) on an
/// in-memory host, every pair linked both ways over loopback with mutual TLS.
final class ClusterHarness: Sendable {
    let pki: TestPKI
    let names: [String]
    let ports: [String: Int]
    private let members = Mutex<[String: (host: InMemoryHost, daemon: LVSyncDaemon)]>([:])

    init(_ names: [String]) throws {
        pki = try TestPKI()
        self.names = names
        ports = Dictionary(uniqueKeysWithValues: zip(names, try freePorts(names.count)))
    }

    deinit { pki.remove() }

    /// The member `name`'s daemon, made afresh on a fresh host (`fresh`), or the one made before; `announce`: the
    /// body of its `cluster.announce` (nil: none).
    func member(_ name: String, fresh: Bool = false, announce: String? = nil) throws -> LVSyncDaemon {
        if !fresh, let known = members.withLock({ $0[name] }) { return known.daemon }
        var file = TestDirectorFile(
            node: name,
            listen: ports[name],
            peers: names.filter { $0 != name }.map { ($0, ports[$0]!) }
        )
        (file.heartbeatMilliseconds, file.deadMilliseconds) = (100, 5000)
        file.extra = "cluster:\n  vips: [{ address: 192.0.2.10, interface: lo }]\n"
        if let announce { file.extra += "  announce: { \(announce) }\n" }
        let host = InMemoryHost()
        let daemon = try MirroringPair.daemon(file, pki: pki, host: host)
        members.withLock { $0[name] = (host, daemon) }
        return daemon
    }

    func host(_ name: String) -> InMemoryHost { members.withLock { $0[name]!.host } }
    func director(_ name: String) -> Director { members.withLock { $0[name]!.daemon }.director.director }
    func service(_ name: String) -> DirectorService { members.withLock { $0[name]!.daemon }.director }

    /// What `name`'s kernel backup holds: the entries injected into it.
    func injected(_ name: String) -> MirrorTable { host(name).backup.table }
    /// What `name`'s own stream holds.
    func own(_ name: String) -> MirrorTable { director(name).source?.table ?? MirrorTable() }

    /// Whether every member's sink of every other member took that member's stream.
    var allLinked: Bool {
        names.allSatisfy { name in
            let director = self.director(name)
            guard director.members.count == names.count - 1 else { return false }
            return director.members.allSatisfy { (peer: String, sink: SyncSink) -> Bool in
                let stream: UInt64? = self.director(peer).source?.streamID
                return sink.position.streamID == stream
            }
        }
    }

    /// Whether `name`'s kernel holds exactly every other member's own connections.
    func holdsTheOthers(_ name: String, among present: [String]) -> Bool {
        var union = MirrorTable()
        for other in present where other != name {
            own(other).forEach(now: MirrorTime(seconds: 0)) { union.upsert($0, now: MirrorTime(seconds: 0)) }
        }
        return union.count > 0 && sameConnections(union, injected(name))
    }
}

@Suite("A cluster: every member's own connections mirrored to every other member (in-memory kernels)")
struct ClusterTests {
    /// Connections `range` as kernel messages, with clients moved into `member`'s own block.
    static func messages(_ range: Range<Int>) -> [[UInt8]] { TestConnections.messages(range) }

    @Test("three members: each kernel holds the others' connections, each entry sent once, by its member")
    func threeMembers() async throws {
        let cluster = try ClusterHarness(["dira", "dirb", "dirc"])
        let blocks = ["dira": 0..<3000, "dirb": 100_000..<104_000, "dirc": 200_000..<205_000]
        let daemons = try cluster.names.map { try cluster.member($0) }
        try await whileRunning(daemons) {
            // Every member's sinks linked (an empty snapshot taken) before any kernel sends.
            #expect(await eventually { cluster.allLinked })
            for name in cluster.names {
                // Both kernel daemons run, on the same interface and sync ID.
                let daemons = try cluster.host(name).ipvs.syncDaemons()
                #expect(Set(daemons.map(\.role)) == [.master, .backup])
                #expect(cluster.director(name).vipsHeld)
                #expect(cluster.host(name).announcer.rounds == 0)
                cluster.host(name).master.emit(ClusterTests.messages(blocks[name]!))
            }
            #expect(await eventually { cluster.names.allSatisfy { cluster.holdsTheOthers($0, among: cluster.names) } })
            for name in cluster.names {
                #expect(cluster.own(name).count == blocks[name]!.count)
                // No entry relayed: each sink took exactly its member's own connections, once.
                for (peer, sink) in cluster.director(name).members {
                    #expect(sink.figures.entries == blocks[peer]!.count)
                }
                #expect(
                    cluster.host(name).backup.entries
                        == blocks.filter { $0.key != name }.map(\.value.count).reduce(0, +)
                )
            }

            // The routers move one of dira's flows to dirb: dirb's kernel, which holds it from dira's stream, moves
            // it (a FIN here) and its master sends it; dira and dirc take the update from dirb's stream.
            var moved = TestConnections.connection(5)
            moved.state = ConnectionState(rawValue: 4)  // TCP FIN_WAIT
            moved.timeout = 120
            let update = try SyncMessagePacker(version: .v1, syncID: 7).pack([moved])
            cluster.host("dirb").master.emit(update)
            let movedEverywhere = await eventually {
                ["dira", "dirc"].allSatisfy { (name: String) -> Bool in
                    cluster.injected(name).lookup(moved, now: MirrorTime(seconds: 0))?.state == moved.state
                }
            }
            #expect(movedEverywhere)
            #expect(cluster.own("dirb").lookup(moved, now: MirrorTime(seconds: 0))?.state == moved.state)

            // The status names every member, the link to it and how far it took this member's stream.
            let status = DirectorControl(service: daemons[0].director) { [] }.status()
            guard case .object(let object) = status, case .object(let members)? = object["cluster"],
                case .array(let list)? = members["members"]
            else {
                Issue.record("no cluster block in the status: \(status)")
                return
            }
            #expect(list.count == 2)
            #expect(members["own_connections"] == .integer(Int64(blocks["dira"]!.count)))
        }
    }

    @Test("a member that joins late takes every other member's connections before anything new")
    func lateJoin() async throws {
        let cluster = try ClusterHarness(["dira", "dirb", "dirc"])
        let first = try ["dira", "dirb"].map { try cluster.member($0) }
        try await whileRunning(first) {
            #expect(
                await eventually { cluster.director("dira").source != nil && cluster.director("dirb").source != nil }
            )
            cluster.host("dira").master.emit(ClusterTests.messages(0..<20_000))
            cluster.host("dirb").master.emit(ClusterTests.messages(100_000..<120_000))
            #expect(
                await eventually {
                    cluster.holdsTheOthers("dira", among: ["dira", "dirb"])
                        && cluster.holdsTheOthers("dirb", among: ["dira", "dirb"])
                }
            )
            // dirc starts now, on a host that holds nothing: both snapshots reach its kernel.
            try await whileRunning([try cluster.member("dirc")]) {
                #expect(await eventually { cluster.holdsTheOthers("dirc", among: ["dira", "dirb", "dirc"]) })
                #expect(cluster.injected("dirc").count == 40_000)
            }
        }
    }

    @Test("announce: the routes go in once the member holds every linked member's stream, out first at a planned stop")
    func announceWhenInSync() async throws {
        let cluster = try ClusterHarness(["dira", "dirb", "dirc"])
        let announce = "table: 200, wait_ms: 1500, drain_ms: 400"
        let vip = IPAddress.v4(IPv4Address(192, 0, 2, 10))
        let route = AnnouncedRoute(address: vip, interface: "lo", table: 200)
        let local = AnnouncedRoute.local(vip, interface: "lo")
        let a = try cluster.member("dira", announce: announce)
        try await whileRunning([a]) {
            // The VIP is the host's by a local route, not an address (which the routing daemon would announce).
            #expect(await eventually { cluster.host("dira").routes.routes.contains(local) })
            #expect(cluster.host("dira").addresses.addresses.isEmpty)
            // Alone (dirb and dirc unreachable): it announces once the wait is over.
            #expect(await eventually { cluster.host("dira").routes.routes == [local, route] })
            cluster.host("dira").master.emit(ClusterTests.messages(0..<30_000))
            #expect(await eventually { cluster.own("dira").count == 30_000 })
            // dirb starts: it links to dira, and announces only once dira's 30 000 connections are in its kernel. Its
            // wait for the never-started dirc is longer than dira's: on a loaded machine the link to dira could
            // otherwise come up after the wait, and dirb would rightly announce without dira's stream.
            let b = try cluster.member("dirb", announce: "table: 200, wait_ms: 8000, drain_ms: 400")
            let group = ServiceGroup(services: [b], logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                #expect(await eventually { cluster.host("dirb").routes.routes.contains(route) })
                #expect(cluster.injected("dirb").count == 30_000)
                #expect(cluster.director("dirb").members["dira"]?.inSync == true)
                // Someone deletes the route: it is put back.
                cluster.host("dirb").routes.remove(route)
                #expect(await eventually { cluster.host("dirb").routes.routes == [local, route] })
                // A planned stop: the route out first, the VIP still the host's and the member still mirroring
                // through the drain.
                await group.triggerGracefulShutdown()
                #expect(await eventually { !cluster.host("dirb").routes.routes.contains(route) })
                #expect(cluster.host("dirb").routes.routes.contains(local))
                #expect(cluster.director("dirb").source != nil)
                try await tasks.waitForAll()
            }
            #expect(cluster.host("dirb").routes.log.filter { $0.hasPrefix("-") } == ["-\(route)", "-\(local)"])
        }
    }

    @Test("a member drill: refused while a member is not linked, forced: routes out, traffic watched, routes back in")
    func memberDrill() async throws {
        let cluster = try ClusterHarness(["dira", "dirb", "dirc"])
        let announce = "table: 200, wait_ms: 500, drain_ms: 400"
        let route = AnnouncedRoute(address: .v4(IPv4Address(192, 0, 2, 10)), interface: "lo", table: 200)
        let (a, b) = (try cluster.member("dira", announce: announce), try cluster.member("dirb", announce: announce))
        try await whileRunning([a, b]) {
            // Both announcing, linked, and dirb holding dira's stream (on a loaded machine the wait_ms can end
            // before the link is up: announcing alone says nothing of it).
            let ready: () -> Bool = {
                cluster.director("dira").isAnnouncing && cluster.director("dirb").isAnnouncing
                    && cluster.service("dira").relay.isLinked(to: "dirb")
                    && cluster.director("dirb").members["dira"]?.inSync == true
            }
            #expect(await eventually(ready))
            cluster.host("dira").master.emit(ClusterTests.messages(0..<2_000))
            #expect(await eventually { cluster.own("dira").count == 2_000 })
            let service = cluster.service("dira")
            // The kernel's counters: packets come in while the routes are out there, none once withdrawn.
            let packets = Mutex<UInt64>(0)
            let inbound: @Sendable () -> UInt64? = {
                packets.withLock { count in
                    if cluster.director("dira").isAnnouncing { count += 40 }
                    return count
                }
            }
            let refused = await service.drillMember(
                force: false,
                ownConnections: { [] },
                inboundPackets: inbound,
                progress: { _ in }
            )
            #expect(!refused.completed)
            #expect(refused.refusal?.hasPrefix("dirc not linked") == true)
            #expect(cluster.host("dira").routes.routes.contains(route))
            let steps = Mutex<[String]>([])
            let report = await service.drillMember(
                force: true,
                hold: .seconds(3),
                catchUp: .seconds(60),
                counterWindow: .milliseconds(500),
                ownConnections: { [] },
                inboundPackets: inbound,
                progress: { step in steps.withLock { $0.append(step) } }
            )
            #expect(report.completed, "\(report)")
            #expect(report.members == ["dirb"])
            #expect(report.connectionsBefore == 2_000)
            #expect(report.unacknowledgedAtWithdrawal == ["dirb": 0] && report.connectionsLost == 0)
            #expect(report.withdrawnRoutes == [route.description])
            #expect((report.inboundPacketsPerSecondBefore ?? 0) > 0 && report.inboundPacketsPerSecondAtEnd == 0)
            #expect(report.trafficGoneMilliseconds != nil)
            #expect(report.heldMilliseconds >= 3000 && report.reannounced)
            #expect(steps.withLock { $0.count } == 3)
            // Out during the hold, back after it, and the announcement goes on.
            let log = cluster.host("dira").routes.log.filter { $0.hasSuffix("table 200") }
            #expect(log.suffix(2) == ["-\(route)", "+\(route)"])
            #expect(cluster.director("dira").isAnnouncing)
            #expect(cluster.host("dira").routes.routes.contains(route))
            // Once withdrawn, the keeper of the announcement puts nothing back (a drain, a drill): only an announce does.
            let director = cluster.director("dira")
            #expect(director.withdrawRoutes() == [route.description])
            #expect(director.keepAnnounced().isEmpty && !cluster.host("dira").routes.routes.contains(route))
            #expect(director.announceRoutes().added == [route.description])
            #expect(director.keepAnnounced().isEmpty && cluster.host("dira").routes.routes.contains(route))
        }
    }

    @Test("a pair drill on a member, and a member drill on a member that announces nothing, are refused with the way")
    func drillRefusals() async throws {
        let cluster = try ClusterHarness(["dira", "dirb"])
        try await whileRunning([try cluster.member("dira")]) {
            #expect(await eventually { cluster.director("dira").source != nil })
            let service = cluster.service("dira")
            let pair = await service.drill(force: false, kernelConnections: { [] }, progress: { _ in })
            #expect(pair.refusal?.contains("lvsync drill --member") == true)
            let member = await service.drillMember(
                force: false,
                ownConnections: { [] },
                inboundPackets: { nil },
                progress: { _ in }
            )
            #expect(member.refusal?.hasPrefix("this member announces nothing (no cluster.announce)") == true)
        }
    }
}
