import Config
import Control
import Daemon
import Failover
import Foundation
import HostNetwork
import IPVS
import LVSyncTestSupport
import Mirror
import PeerProtocol
import ServiceLifecycle
import SyncWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Whatever ends a director — SIGTERM, one of its parts failing, a SIGKILL followed by `lvsync release` or a restart —
/// it leaves no VIP and no kernel sync daemon behind, and what it reports is what holds.
@Suite("Fail-safe: the daemon's ends leave nothing behind")
struct FailSafeTests {
    static let vip = FailoverConfig.VIP(address: .v4(IPv4Address(10, 0, 0, 100)), prefixLength: 32, interface: "eth0")

    /// An elected director alone (its peer never answers): it becomes active after its boot wait.
    static func alone(pki: TestPKI, bootWaitMilliseconds: Int = 100) throws -> String {
        let ports = try freePorts(2)
        var file = TestDirectorFile(node: "dira", listen: ports[0], peers: [("dirb", ports[1])])
        file.failover = """
            boot_wait_ms: \(bootWaitMilliseconds)
            vips: [{ address: 10.0.0.100/32, interface: eth0 }]
            health: [{ interface: eth0, response: fault }]
            """
        return try file.yaml(pki: pki)
    }

    /// Runs `body` with an elected director alone on `host` (``alone(pki:bootWaitMilliseconds:)``) running, after it
    /// holds its VIPs unless `waitForVIPs` is false; the run is cancelled after `body`.
    static func whileAlone(
        on host: InMemoryHost = InMemoryHost(),
        bootWaitMilliseconds: Int = 100,
        waitForVIPs: Bool = true,
        _ body: (LVSyncDaemon) async throws -> Void
    ) async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let daemon = try LVSyncDaemonTests.build(
            try alone(pki: pki, bootWaitMilliseconds: bootWaitMilliseconds),
            host: host
        )
        let run = Task { try await daemon.run() }
        defer { run.cancel() }
        // The whole takeover, not its first step: the VIPs come before the capture and the mirror's source.
        if waitForVIPs {
            #expect(
                await eventually { daemon.director.director.vipsHeld && daemon.director.director.lastTakeover != nil }
            )
        }
        try await body(daemon)
    }

    @Test(
        "a part that fails stops the director in order: VIPs released, kernel sync daemons stopped, its error ends run()"
    )
    func partFailureStopsInOrder() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let host = InMemoryHost()
        let daemon = try LVSyncDaemonTests.build(try Self.alone(pki: pki), host: host)
        let run = Task { try await daemon.run() }
        defer { run.cancel() }
        #expect(await eventually { daemon.director.director.vipsHeld })
        #expect(host.addresses.addresses.contains(Self.vip.virtualAddress))
        #expect(try host.ipvs.syncDaemons().map(\.role) == [.master])

        // The capture socket fails in a way no repair explains.
        host.master.failReceiving(with: HostNetworkError(operation: "recvmmsg on lvsync0", errno: EBADF))
        let outcome = await run.result
        #expect(throws: HostNetworkError.self) { try outcome.get() }
        #expect(host.addresses.addresses.isEmpty, "the VIP stayed on a director that stopped")
        #expect(try host.ipvs.syncDaemons().isEmpty, "a kernel sync daemon outlived the director")
        #expect(!daemon.director.director.vipsHeld)
    }

    @Test("a graceful shutdown (SIGTERM) ends the daemon without an error, elected or in a fixed role")
    func gracefulShutdownIsClean() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var fixed = TestDirectorFile(node: "dirb", listen: nil, peers: [("dira", try freePorts(1)[0])])
        fixed.role = "standby"
        for yaml in [try Self.alone(pki: pki), try fixed.yaml(pki: pki)] {
            let daemon = try LVSyncDaemonTests.build(yaml)
            let group = ServiceGroup(services: [daemon], logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                #expect(await eventually { daemon.director.director.role != .initialising })
                await group.triggerGracefulShutdown()
                // run() throwing here (a part's CancellationError taken for a failure) would exit 1 on SIGTERM.
                try await tasks.waitForAll()
            }
        }
    }

    @Test("a VIP an earlier run left on the host is removed before the boot wait")
    func leftoverVIPRemovedAtStart() async throws {
        let host = InMemoryHost()
        _ = try host.addresses.add(Self.vip.virtualAddress)
        // A boot wait far longer than the test: the director stays initialising throughout.
        try await Self.whileAlone(on: host, bootWaitMilliseconds: 600_000, waitForVIPs: false) { daemon in
            #expect(await eventually { !host.addresses.addresses.contains(Self.vip.virtualAddress) })
            #expect(daemon.director.director.role == .initialising)
        }
    }

    @Test("lvsync release removes the VIPs and stops the kernel sync daemons a killed director left")
    func releaseFromOutside() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let host = InMemoryHost()
        let file = try LVSyncConfig(yaml: try Self.alone(pki: pki), file: "test.yaml")
        let peering = try #require(file.peering)
        _ = try host.addresses.add(Self.vip.virtualAddress)
        try KernelSyncDaemons(ipvs: host.ipvs, sync: peering.sync, logger: quietLogger).run(.master)

        let report = LVSyncDaemon.release(peering, on: host.host, logger: quietLogger)
        #expect(report.removed == [Self.vip.description])
        #expect(report.stoppedDaemons == ["master"])
        #expect(report.failures.isEmpty)
        #expect(host.addresses.addresses.isEmpty)
        #expect(try host.ipvs.syncDaemons().isEmpty)

        let again = LVSyncDaemon.release(peering, on: host.host, logger: quietLogger)
        #expect(again.removed.isEmpty && again.absent == [Self.vip.description] && again.stoppedDaemons.isEmpty)
    }

    @Test("a VIP whose add failed is not reported held")
    func vipsHeldMeansHeld() async throws {
        let host = InMemoryHost()
        host.addresses.failEveryCall(
            with: HostNetworkError(operation: "RTM_NEWADDR 10.0.0.100/32 dev eth0", errno: EMFILE)
        )
        try await Self.whileAlone(on: host, waitForVIPs: false) { daemon in
            #expect(await eventually { daemon.director.director.role == .active })
            #expect(!daemon.director.director.vipsHeld)
            #expect(daemon.director.director.heldVIPs.isEmpty)
        }
    }

    @Test("an interface the host cannot query (no descriptor left) is not an interface failure")
    func ownTroubleIsNotAFault() async throws {
        let host = InMemoryHost()
        try await FailSafeTests.whileAlone(on: host) { daemon in
            host.failInterfaceQueries(with: HostNetworkError(operation: "socket(AF_NETLINK)", errno: EMFILE))
            // Many heartbeats with every query failing: the condition keeps its verdict, the director its role.
            try await Task.sleep(for: .milliseconds(500))
            #expect(daemon.director.director.role == .active)
            #expect(daemon.director.election.election?.failingConditions.isEmpty == true)
            // A real failure still counts.
            host.failInterfaceQueries(with: nil)
            host.setInterface("eth0", up: false)
            #expect(await eventually { daemon.director.director.role == .fault })
        }
    }

    @Test("the active adds back a VIP that went from the host, and announces it")
    func vipAddedBack() async throws {
        let host = InMemoryHost()
        try await FailSafeTests.whileAlone(on: host) { daemon in
            let announced = host.announcer.rounds
            _ = try host.addresses.remove(Self.vip.virtualAddress)
            #expect(await eventually { host.addresses.addresses.contains(Self.vip.virtualAddress) })
            #expect(await eventually { host.announcer.rounds > announced })
        }
    }

    @Test("a peer unheard for the dead interval is reported dead, not as the state it last advertised")
    func deadPeerIsNotActive() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let daemon = try LVSyncDaemonTests.build(try Self.alone(pki: pki, bootWaitMilliseconds: 600_000))
        let advert = PeerMessage.Advert(
            node: "dirb",
            priority: 150,
            state: .active,
            inSync: true,
            incarnation: 1,
            sequence: 9
        )
        daemon.director.director.heard(advert, at: .now - .seconds(60))
        let control = try #require(daemon.control)
        let peers = control.status()["peers"]?.arrayValue ?? []
        #expect(peers.count == 1)
        #expect(peers.first?["state"]?.stringValue == "dead")
        #expect(peers.first?["last_advertised"]?.stringValue == "active")
        #expect(peers.first?["in_sync"]?.boolValue == false)
        let text = StatusText.render(control.status())
        #expect(!text.contains("peer dirb active"), "\(text)")
    }
}

/// The kernel's sync checked against the role and repaired: a kernel daemon stopped from outside, a sync interface
/// deleted and created again (the kernel daemon, the capture and the injector stay bound to the old index).
@Suite("Kernel sync repair: what the kernel holds follows the role")
struct KernelSyncRepairTests {
    @Test("a kernel master stopped from outside (ipvsadm --stop-daemon master) is started again")
    func masterStoppedByHand() async throws {
        let host = InMemoryHost()
        try await FailSafeTests.whileAlone(on: host) { daemon in
            try host.ipvs.stopSyncDaemon(.master)
            #expect(try host.ipvs.syncDaemons().isEmpty)
            #expect(await eventually { (try? host.ipvs.syncDaemons().map(\.role)) == [.master] })
            #expect(daemon.director.director.role == .active)
        }
    }

    @Test("a sync interface re-created under a new index: the kernel master restarted, capture and injector reopened")
    func interfaceRecreated() async throws {
        let host = InMemoryHost()
        try await FailSafeTests.whileAlone(on: host) { daemon in
            let before = host.opens
            let starts = host.ipvs.syncDaemonStarts
            host.deleteSyncInterface(recreate: true)
            #expect(
                await eventually { host.opens.captures > before.captures && host.opens.injectors > before.injectors }
            )
            #expect(host.ipvs.syncDaemonStarts > starts, "the kernel master was not restarted on the new interface")
            // The capture works on: what the kernel sends still reaches the mirror.
            host.master.emit(TestConnections.messages(0..<50))
            #expect(await eventually { daemon.director.director.source?.table.count == 50 })
        }
    }

    @Test("a capture that loses its interface (ENETDOWN) has the interface set up again and goes on capturing")
    func captureLosesInterface() async throws {
        let host = InMemoryHost()
        try await FailSafeTests.whileAlone(on: host) { daemon in
            let epoch = daemon.director.director.syncEpoch
            host.deleteSyncInterface(recreate: false)
            host.master.failReceiving(
                with: HostNetworkError(operation: "recvmmsg on lvsync0", errno: ENETDOWN),
                once: true
            )
            #expect(await eventually { daemon.director.director.syncEpoch > epoch })
            #expect(host.syncInterfaceIndex != nil, "the sync interface was not created again")
            host.master.emit(TestConnections.messages(0..<50))
            #expect(await eventually { daemon.director.director.source?.table.count == 50 })
            #expect(daemon.director.director.role == .active)
        }
    }
}

/// The condition readings' verdicts: one lost answer is not a fault, an unknown reading no verdict at all.
@Suite("ConditionVerdict: readings to verdicts")
struct ConditionVerdictTests {
    @Test("a condition fails only after N failing readings in a row, and recovers at the first holding one")
    func debounced() {
        var verdict = ConditionVerdict(failuresToFail: 3)
        #expect(verdict.observe(.fails("netlink: timeout")) == nil)
        #expect(verdict.observe(.fails("netlink: timeout")) == nil)
        #expect(verdict.observe(.holds) == nil)
        #expect(verdict.observe(.fails("a")) == nil)
        #expect(verdict.observe(.fails("b")) == nil)
        #expect(verdict.observe(.fails("c")) == false)
        #expect(verdict.observe(.fails("d")) == nil)
        #expect(verdict.observe(.holds) == true)
    }

    @Test("an unknown reading neither fails nor restores, nor breaks a run of failures")
    func unknownKeeps() {
        var verdict = ConditionVerdict(failuresToFail: 1)
        for _ in 0..<100 { #expect(verdict.observe(.unknown("too many open files")) == nil) }
        #expect(verdict.holds)
        #expect(verdict.observe(.fails("down")) == false)
        #expect(verdict.observe(.unknown("too many open files")) == nil)
        #expect(!verdict.holds)
    }

    @Test("the director's own exhaustion is told apart from an answer")
    func ownTrouble() {
        #expect(HostNetworkError(operation: "socket", errno: EMFILE).ownTrouble)
        #expect(HostNetworkError(operation: "socket", errno: ENFILE).ownTrouble)
        #expect(HostNetworkError(operation: "sendmsg", errno: ENOBUFS).ownTrouble)
        #expect(!HostNetworkError(operation: "RTM_GETLINK eth0", errno: ENODEV).ownTrouble)
        #expect(!HostNetworkError(operation: "lookup", detail: "no such interface").ownTrouble)
    }
}
