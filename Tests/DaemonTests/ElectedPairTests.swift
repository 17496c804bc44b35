import Config
import Control
import Daemon
import Failover
import Foundation
import HostNetwork
import IPVS
import LVSyncTestSupport
import Logging
import Mirror
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import SyncWire
import Synchronization
import Testing

/// One director of an elected pair in this process: a daemon built from its configuration file on an in-memory host.
final class TestDirector: Sendable {
    let name: String
    let machine = InMemoryHost()
    let daemon: LVSyncDaemon
    let controlSocket: String

    static let vip = FailoverConfig.VIP(address: .v4(IPv4Address(10, 0, 0, 100)), prefixLength: 32, interface: "eth0")

    init(
        name: String,
        priority: Int,
        port: Int,
        peer: (name: String, port: Int),
        pki: TestPKI,
        preempt: Bool = false,
        udp: (listen: Int, peer: Int, key: [UInt8])? = nil,
        certificateWindow: (notValidBefore: Date, notValidAfter: Date)? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.name = name
        var file = TestDirectorFile(node: name, listen: port, peers: [peer])
        file.certificateWindow = certificateWindow
        file.priority = priority
        // Timers with room for a loaded test machine (the whole suite runs in parallel): a missed dead interval
        // would make the pair flap, which these tests do not look for.
        (file.heartbeatMilliseconds, file.deadMilliseconds) = (100, 1000)
        file.failover = """
            preempt: \(preempt)
            boot_wait_ms: 1000
            vips: [{ address: 10.0.0.100/32, interface: eth0 }]
            announce: { count: 2, interval_ms: 20 }
            """
        if let udp {
            try pki.write(String(decoding: udp.key, as: UTF8.self), to: "\(name)-heartbeat.key")
            file.failover! += """

                udp_heartbeat:
                  listen: 127.0.0.1:\(udp.listen)
                  peers: [{ name: \(peer.name), address: 127.0.0.1:\(udp.peer) }]
                  key_file: \(pki.path("\(name)-heartbeat.key"))
                  interval_ms: 50
                  detect_multiplier: 6
                """
        }
        controlSocket = pki.path("\(name)-\(port).sock")
        file.controlSocket = controlSocket
        let config = try LVSyncConfig(yaml: try file.yaml(pki: pki), file: "\(name).yaml")
        daemon = try LVSyncDaemon(
            file: config,
            path: "\(name).yaml",
            host: machine.host,
            clock: clock,
            logger: quietLogger
        )
    }

    var service: DirectorService { daemon.director }
    var master: InMemoryKernelMaster { machine.master }
    var backup: InMemoryKernelBackup { machine.backup }
    var ipvs: InMemoryIPVS { machine.ipvs }
    var role: ElectionState { service.director.role }
    var holdsVIP: Bool { machine.addresses.addresses.contains(Self.vip.virtualAddress) }
    var kernelMasterRuns: Bool { (try? ipvs.syncDaemons().contains { $0.role == .master }) ?? false }
}

/// Runs each director's service in its own task; `body` gets a way to stop one (gracefully or not).
func whileDirecting(
    _ directors: [TestDirector],
    _ body: (_ stop: @escaping @Sendable (Int) -> Void) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let tasks = Mutex<[Int: Task<Void, any Error>]>([:])
        for (index, director) in directors.enumerated() {
            let task = Task { try await director.daemon.run() }
            tasks.withLock { $0[index] = task }
            group.addTask {
                // A daemon that stops by itself (its listener's port taken, say) is this test's failure, not a
                // silent director that the expectations then wait for in vain.
                do {
                    try await task.value
                } catch {
                    if !task.isCancelled { Issue.record("\(director.name)'s daemon stopped: \(error)") }
                }
            }
        }
        try await body { index in tasks.withLock { $0[index]?.cancel() } }
        tasks.withLock { tasks in for task in tasks.values { task.cancel() } }
        try await group.waitForAll()
    }
}

@Suite("An elected pair over mutual TLS (in-memory kernels and VIPs)")
struct ElectedPairTests {
    @Test("the higher priority becomes active and holds the VIPs; the other mirrors its connections")
    func electsAndMirrors() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let a = try TestDirector(name: "dira", priority: 150, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let b = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[0]), pki: pki)
        try await whileDirecting([a, b]) { _ in
            #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
            #expect(a.holdsVIP && !b.holdsVIP)
            #expect(a.kernelMasterRuns && !b.kernelMasterRuns)
            #expect(a.machine.announcer.rounds >= 1)
            a.master.emit(TestConnections.messages(0..<2_000))
            #expect(await eventually(limit: .seconds(30)) { b.backup.table.count == 2_000 })
            let source = try #require(a.service.director.source)
            #expect(await eventually(limit: .seconds(30)) { sameConnections(source.table, b.backup.table) })
            // The standby reports its table in sync; the active sees that in its adverts.
            #expect(await eventually(limit: .seconds(30)) { a.service.director.peers["dirb"]?.advert.inSync == true })
        }
    }

    @Test("an active whose capture fails stops in order: its peer hears 'stopped' and takes over at once")
    func partFailureTellsThePeer() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let a = try TestDirector(name: "dira", priority: 150, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let b = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[0]), pki: pki)
        let runA = Task { try await a.daemon.run() }
        let runB = Task { try await b.daemon.run() }
        defer {
            runA.cancel()
            runB.cancel()
        }
        #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
        #expect(await eventually(limit: .seconds(30)) { b.service.director.peers["dira"]?.advert.state == .active })
        a.master.failReceiving(with: HostNetworkError(operation: "recvmmsg on lvsync0", errno: EBADF))
        let outcome = await runA.result
        #expect(throws: HostNetworkError.self) { try outcome.get() }
        #expect(!a.holdsVIP && !a.kernelMasterRuns)
        #expect(await eventually(limit: .seconds(30)) { b.role == .active && b.holdsVIP })
        // Told, not left to find out: the standby claims because no director is active, not because dira fell silent.
        #expect(b.service.director.lastTransition?.reason == "no director is active and this one ranks first")
    }

    @Test("a planned handover moves the VIPs and the role; the new active starts from the mirrored table")
    func plannedHandover() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let a = try TestDirector(name: "dira", priority: 150, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let b = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[0]), pki: pki)
        try await whileDirecting([a, b]) { _ in
            #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
            a.master.emit(TestConnections.messages(0..<500))
            #expect(await eventually(limit: .seconds(30)) { b.backup.table.count == 500 })
            #expect(await eventually(limit: .seconds(30)) { a.service.director.peers["dirb"]?.advert.inSync == true })
            let answer = Mutex<String??>(.none)
            a.service.relay.post(
                .handover(waitingAtMost: .seconds(2), reply: { reply in answer.withLock { $0 = reply } })
            )
            #expect(await eventually(limit: .seconds(30)) { answer.withLock { $0 } != .none })
            #expect(answer.withLock { $0 } == .some(nil))
            #expect(await eventually(limit: .seconds(30)) { b.role == .active && a.role == .standby })
            #expect(b.holdsVIP && !a.holdsVIP)
            #expect(b.kernelMasterRuns && !a.kernelMasterRuns)
            #expect(b.service.director.source?.table.count == 500)
        }
    }

    @Test("when the active director dies without a word, the standby takes over after the dead interval")
    func activeDies() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let a = try TestDirector(name: "dira", priority: 150, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let b = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[0]), pki: pki)
        try await whileDirecting([a, b]) { stop in
            #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
            a.master.emit(TestConnections.messages(0..<300))
            #expect(await eventually(limit: .seconds(30)) { b.backup.table.count == 300 })
            stop(0)
            #expect(await eventually(limit: .seconds(30)) { b.role == .active })
            #expect(b.holdsVIP)
            #expect(b.service.director.source?.table.count == 300)
        }
    }

    @Test("lvsync drill's procedure: the kernel's table re-sent, the standby caught up, handed over, reported")
    func drillReport() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let a = try TestDirector(name: "dira", priority: 150, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let b = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[0]), pki: pki)
        try await whileDirecting([a, b]) { _ in
            #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
            // The standby refuses to drill: it is not active.
            let refused = await b.service.drill(force: false, kernelConnections: { [] }, progress: { _ in })
            #expect(!refused.completed && refused.refusal?.contains("not active") == true)
            a.master.emit(TestConnections.messages(0..<400))
            #expect(await eventually(limit: .seconds(30)) { b.backup.table.count == 400 })
            // 100 connections the kernel master daemon never sent: the drill re-sends them from the kernel's table.
            let unsent = (400..<500).map(TestConnections.connection)
            // (the standby's 20 s to catch up, not a director's 3: the whole suite runs beside it)
            let report = await a.service.drill(
                force: false,
                catchUp: .seconds(20),
                kernelConnections: { unsent },
                progress: { _ in }
            )
            #expect(report.completed, "\(report)")
            #expect(report.from == "dira" && report.to == "dirb")
            #expect(report.reconciledFromKernel == 100)
            #expect(report.connectionsBefore == ["dira": 500, "dirb": 500])
            #expect(report.connectionsAfter["dirb"] == 500)
            #expect(report.connectionsLost == 0)
            #expect(report.handoverMilliseconds != nil)
            #expect(b.role == .active && b.holdsVIP && !a.holdsVIP)
            #expect(b.service.director.source?.table.count == 500)
            // It stays that way: the links switched without a silence the old active could take for a death.
            try await Task.sleep(for: .seconds(1))
            #expect(b.role == .active && a.role == .standby && b.holdsVIP && !a.holdsVIP)
        }
    }

    @Test("the control socket answers status, stats and conns from the running director")
    func controlSocket() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let a = try TestDirector(name: "dira", priority: 150, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let b = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[0]), pki: pki)
        let path = a.controlSocket
        try await whileDirecting([a, b]) { _ in
            do {
                #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
                a.master.emit(TestConnections.messages(0..<10))
                #expect(await eventually(limit: .seconds(30)) { b.backup.table.count == 10 })
                #expect(
                    await eventually(limit: .seconds(30)) { a.service.director.peers["dirb"]?.advert.tableSize == 10 }
                )
                let status = try #require(
                    try await ControlClient.objects(of: ControlRequest(command: "status"), socketPath: path).first
                )
                #expect(status["role"]?.stringValue == "active")
                #expect(status["vips_held"]?.boolValue == true)
                #expect(status["sync"]?["table_size"]?.integerValue == 10)
                let peer = try #require(status["peers"]?.arrayValue?.first)
                #expect(peer["name"]?.stringValue == "dirb" && peer["state"]?.stringValue == "standby")
                #expect(peer["link"]?.stringValue == "up" && peer["table_size"]?.integerValue == 10)
                let stats = try await ControlClient.objects(of: ControlRequest(command: "stats"), socketPath: path)
                #expect(stats.first?["mirror.size"]?.integerValue == 10)
                #expect(stats.first?["election.role"]?.stringValue == "active")
                let conns = try await ControlClient.objects(
                    of: ControlRequest(command: "conns", arguments: ["service": "tcp:10.0.0.100:80"]),
                    socketPath: path
                )
                #expect(!conns.isEmpty && conns.allSatisfy { $0["virtual"]?.stringValue == "10.0.0.100:80" })
                await #expect(throws: ControlError.self) {
                    _ = try await ControlClient.objects(of: ControlRequest(command: "reboot"), socketPath: path)
                }
            }
        }
    }

    @Test("with the peer link down, the UDP second path keeps one director active; without it, both claim the VIPs")
    func secondPathPreventsSplitBrain() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        // Each director dials a port nobody listens on: the peer link never comes up.
        let ports = try freePorts(6)
        let key = Array("a shared heartbeat key, 32 bytes".utf8)
        let a = try TestDirector(
            name: "dira",
            priority: 150,
            port: ports[0],
            peer: ("dirb", ports[2]),
            pki: pki,
            udp: (ports[4], ports[5], key)
        )
        let b = try TestDirector(
            name: "dirb",
            priority: 100,
            port: ports[1],
            peer: ("dira", ports[3]),
            pki: pki,
            udp: (ports[5], ports[4], key)
        )
        try await whileDirecting([a, b]) { _ in
            #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
            // Several dead intervals later, the standby still hears the active by UDP and stays standby.
            try await Task.sleep(for: .seconds(2))
            #expect(a.role == .active && b.role == .standby)
            #expect(!b.holdsVIP)
        }
        let c = try TestDirector(name: "dira", priority: 150, port: ports[0], peer: ("dirb", ports[2]), pki: pki)
        let d = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[3]), pki: pki)
        try await whileDirecting([c, d]) { _ in
            #expect(await eventually(limit: .seconds(30)) { c.role == .active && d.role == .active })
        }
    }

    @Test("an active that dies without a word is found dead by the UDP path, whose detection time decides")
    func udpPathDetectsACrash() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(4)
        let key = Array("a shared heartbeat key, 32 bytes".utf8)
        let a = try TestDirector(
            name: "dira",
            priority: 150,
            port: ports[0],
            peer: ("dirb", ports[1]),
            pki: pki,
            udp: (ports[2], ports[3], key)
        )
        let b = try TestDirector(
            name: "dirb",
            priority: 100,
            port: ports[1],
            peer: ("dira", ports[0]),
            pki: pki,
            udp: (ports[3], ports[2], key)
        )
        try await whileDirecting([a, b]) { stop in
            #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
            #expect(
                await eventually(limit: .seconds(30)) {
                    b.service.election.election?.peers["dira"]?.lastHeardOn[.udp] != nil
                }
            )
            // A crash: the election's thread ends without a stopped advert (a cancelled service says goodbye).
            a.service.halt()
            stop(0)
            #expect(await eventually(limit: .seconds(30)) { b.role == .active && b.holdsVIP })
            #expect(
                b.service.director.lastTransition?.reason
                    == "the active dira's UDP heartbeats stopped for the detection time"
            )
            let steps = try #require(b.service.director.lastTakeover)
            let added = try #require(steps.vipsAdded)
            let announced = try #require(steps.announced)
            #expect(added <= announced && announced <= steps.syncMaster)
        }
    }

    @Test("with the peer link down, a standby that restarts hears the active again by UDP after one round trip")
    func secondPathAfterRestart() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(6)
        let key = Array("a shared heartbeat key, 32 bytes".utf8)
        func director(_ name: String) throws -> TestDirector {
            name == "dira"
                ? try TestDirector(
                    name: "dira",
                    priority: 150,
                    port: ports[0],
                    peer: ("dirb", ports[2]),
                    pki: pki,
                    udp: (ports[4], ports[5], key)
                )
                : try TestDirector(
                    name: "dirb",
                    priority: 100,
                    port: ports[1],
                    peer: ("dira", ports[3]),
                    pki: pki,
                    udp: (ports[5], ports[4], key)
                )
        }
        let a = try director("dira")
        try await whileDirecting([a]) { _ in
            #expect(await eventually(limit: .seconds(30)) { a.role == .active })
            for _ in 0..<2 {
                // Each run of dirb is a new process: a new nonce, a new incarnation.
                let b = try director("dirb")
                try await whileDirecting([b]) { _ in
                    #expect(await eventually(limit: .seconds(30)) { b.role == .standby })
                    try await Task.sleep(for: .seconds(1))
                    #expect(a.role == .active && b.role == .standby && !b.holdsVIP)
                }
            }
        }
    }
}

@Suite("The second heartbeat path's datagrams")
struct HeartbeatDatagramTests {
    let codec = try! HeartbeatDatagram(key: Array(repeating: 7, count: 32))
    let advert = PeerMessage.Advert(
        node: "dira",
        priority: 150,
        state: .active,
        inSync: true,
        incarnation: 42,
        sequence: 9,
        tableSize: 3
    )

    @Test("an advert and the nonces go through sealed and opened unchanged")
    func roundTrip() throws {
        let opened = try codec.open(codec.seal(advert, nonce: 0x0102_0304_0506_0708, echo: .max, number: 77)).get()
        #expect(opened.advert == advert && opened.nonce == 0x0102_0304_0506_0708 && opened.echo == .max)
        #expect(opened.number == 77)
    }

    @Test("a damaged, foreign or malformed datagram is refused with its reason")
    func refusals() throws {
        let sealed = codec.seal(advert, nonce: 1, echo: 2, number: 3)
        let other = try HeartbeatDatagram(key: Array(repeating: 8, count: 32))
        var flippedNonce = sealed
        flippedNonce[10] ^= 1
        var flippedEcho = sealed
        flippedEcho[20] ^= 1
        var flippedNumber = sealed
        flippedNumber[28] ^= 1
        var version = sealed
        version[4] = 2
        let cases: [([UInt8], String, HeartbeatDatagram.Refusal.Reason)] = [
            (Array(sealed.prefix(50)), "shorter than a header and a tag", .malformed),
            ([0x4c, 0x56, 0x48, 0x43] + sealed.dropFirst(4), "does not start with LVHB", .malformed),
            (version, "version 2, expected 3", .malformed),
            (sealed + [0], "advert bytes but has", .malformed),
            (flippedNonce, "HMAC does not match", .badMAC),
            (flippedEcho, "HMAC does not match", .badMAC),
            (flippedNumber, "HMAC does not match", .badMAC),
            (other.seal(advert, nonce: 1, echo: 2, number: 3), "HMAC does not match", .badMAC),
        ]
        for (datagram, text, reason) in cases {
            guard case .failure(let refusal) = codec.open(datagram) else {
                Issue.record("accepted a datagram that should say: \(text)")
                continue
            }
            #expect(refusal.description.contains(text), "\(refusal)")
            #expect(refusal.reason == reason, "\(refusal)")
        }
        #expect(throws: DaemonError.self) { try HeartbeatDatagram(key: [1, 2, 3]) }
    }
}
