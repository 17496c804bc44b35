import Daemon
import Foundation
import Mirror
import NIOCore
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire
import Synchronization
import Testing

/// Two mirroring services in one process, linked over loopback with mutual TLS, with the in-memory kernel twins.
final class MirroringPair: Sendable {
    let pki: TestPKI
    let master = InMemoryKernelMaster()
    let backup = InMemoryKernelBackup()
    let source = SyncSource(syncID: 7, logCapacityBytes: 256 << 20)
    let sink: SyncSink
    let activeCounters = PeerCounters()
    let standbyCounters = PeerCounters()
    let activeTLS: PeerTLS
    let standbyTLS: PeerTLS
    private let port = Mutex<Int?>(nil)

    init(logCapacityBytes: Int = 256 << 20) throws {
        pki = try TestPKI()
        sink = SyncSink(injector: backup)
        activeTLS = try PeerTLS(identity: pki.identity("dira"))
        standbyTLS = try PeerTLS(identity: pki.identity("dirb"))
    }

    deinit { pki.remove() }

    static func session(_ node: String) -> SessionConfiguration {
        SessionConfiguration(node: node, syncID: 7, heartbeatInterval: .milliseconds(100), deadInterval: .seconds(2))
    }

    var listeningPort: Int? { port.withLock { $0 } }

    func activeService() -> MirroringService {
        let configuration = MirroringService.Configuration(
            session: Self.session("dira"),
            peers: ["dirb", "dirc"].map { MirroringService.Peer(name: $0, host: "127.0.0.1", port: 0) },
            listen: ("127.0.0.1", 0),
            onListening: { [weak self] address in self?.port.withLock { $0 = address.port } }
        )
        return MirroringService(
            configuration: configuration,
            tls: activeTLS,
            role: .active(source, capture: master),
            counters: activeCounters,
            logger: quietLogger
        )
    }

    func standbyService(node: String = "dirb", tls: PeerTLS? = nil, sink: SyncSink? = nil) -> MirroringService {
        let configuration = MirroringService.Configuration(
            session: Self.session(node),
            peers: [MirroringService.Peer(name: "dira", host: "127.0.0.1", port: listeningPort ?? 1)]
        )
        return MirroringService(
            configuration: configuration,
            tls: tls ?? standbyTLS,
            role: .standby(sink ?? self.sink),
            counters: standbyCounters,
            logger: quietLogger
        )
    }

    /// Whether the standby's kernel twin holds exactly the active director's table.
    var converged: Bool { sameConnections(source.table, backup.table) }
}

/// Runs `body` while `services` run; cancels them afterwards.
func whileRunning(_ services: [MirroringService], _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service.run() } }
        try await body()
        group.cancelAll()
    }
}

@Suite("Mirroring between two daemons over mutual TLS (in-memory kernels)")
struct MirroringTests {
    @Test("a million entries arrive complete and in order")
    func millionEntries() async throws {
        let pair = try MirroringPair()
        let messages = TestConnections.messages(0..<1_000_000)
        var digest = MessageDigest()
        for message in messages { digest.add(message) }
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            try await whileRunning([pair.standbyService()]) {
                // The standby is linked (it took an empty snapshot) before the kernel sends anything.
                #expect(await eventually { pair.sink.position.streamID == pair.source.streamID })
                pair.master.emit(messages)
                #expect(await eventually { pair.backup.messages >= messages.count })
            }
        }
        #expect(pair.backup.messages == messages.count)
        #expect(pair.backup.entries == 1_000_000)
        #expect(pair.backup.digest == digest.value, "the messages reached the kernel in capture order")
        #expect(pair.backup.problems.isEmpty)
        #expect(pair.source.table.count == 1_000_000)
        #expect(pair.converged)
        #expect(pair.sink.table.count == 1_000_000, "the standby's own mirror holds them too")
    }

    @Test("a standby that starts after the connections were made gets them by snapshot, then the stream")
    func lateStandby() async throws {
        let pair = try MirroringPair()
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            pair.master.emit(TestConnections.messages(0..<50_000))
            #expect(await eventually { pair.source.figures.entries == 50_000 })
            #expect(pair.backup.entries == 0)
            try await whileRunning([pair.standbyService()]) {
                #expect(await eventually { pair.converged })
                pair.master.emit(TestConnections.messages(50_000..<60_000))
                #expect(await eventually { pair.source.figures.entries == 60_000 && pair.converged })
                // The active's view of its standby: streaming, everything sent acknowledged, nothing in flight.
                #expect(
                    await eventually {
                        guard let link = pair.source.figures.standbys["dirb"] else { return false }
                        return link.state == "streaming" && link.snapshot == nil && link.inFlightBytes == 0
                            && link.acknowledgedSequence == link.sentSequence
                            && link.sentSequence == pair.source.figures.lastSequence
                    }
                )
            }
        }
        #expect(await eventually { pair.source.figures.standbys.isEmpty }, "a closed link leaves the figures")
        #expect(pair.activeCounters["snapshots"] == 1)
        #expect(pair.backup.table.count == 60_000)
        #expect(pair.backup.problems.isEmpty)
    }

    @Test("one active director streams to two standbys at once, each converging")
    func twoStandbys() async throws {
        let pair = try MirroringPair()
        let secondBackup = InMemoryKernelBackup()
        let secondSink = SyncSink(injector: secondBackup)
        let secondTLS = try PeerTLS(identity: pair.pki.identity("dirc"))
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            let second = pair.standbyService(node: "dirc", tls: secondTLS, sink: secondSink)
            pair.master.emit(TestConnections.messages(0..<30_000))
            try await whileRunning([pair.standbyService(), second]) {
                pair.master.emit(TestConnections.messages(30_000..<60_000))
                #expect(await eventually { pair.source.figures.entries == 60_000 && pair.converged })
                #expect(await eventually { sameConnections(pair.source.table, secondBackup.table) })
            }
        }
        #expect(pair.activeCounters["opened"] == 2)
        #expect(secondBackup.table.count == 60_000)
    }

    @Test("a standby that reconnects resumes where it stopped, without a second snapshot")
    func reconnectResumes() async throws {
        let pair = try MirroringPair()
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            try await whileRunning([pair.standbyService()]) {
                pair.master.emit(TestConnections.messages(0..<20_000))
                #expect(await eventually { pair.converged && pair.source.table.count == 20_000 })
            }
            // The standby is gone (saying goodbye, unless the connection closed first); the active goes on capturing.
            #expect(
                await eventually {
                    pair.activeCounters["closed.goodbye"] + pair.activeCounters["closed.connection_lost"] == 1
                }
            )
            pair.master.emit(TestConnections.messages(20_000..<30_000))
            #expect(await eventually { pair.source.figures.entries == 30_000 })
            try await whileRunning([pair.standbyService()]) {
                #expect(await eventually { pair.converged })
            }
        }
        #expect(pair.activeCounters["snapshots"] == 1, "the first link's empty snapshot only")
        #expect(pair.activeCounters["opened"] == 2)
        #expect(pair.backup.table.count == 30_000)
    }
}
