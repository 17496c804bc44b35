import Daemon
import Foundation
import LVSyncTestSupport
import Mirror
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import SyncWire
import Testing

/// Connects to the active director's listener and sends `bytes`, over TLS with `identity` or, without one, in
/// plaintext. Waits until the connection ends (the server refuses or closes it).
func connectAndSend(port: Int, identity: NodeIdentity?, expecting server: String = "dira", bytes: [UInt8]) async {
    do {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let identity {
                        let tls = try PeerTLS(identity: identity)
                        _ = try tls.addClientHandlers(to: channel.pipeline.syncOperations, expectedPeer: server)
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            for try await _ in inbound {}
        }
    } catch {
        // Refused: what the test checks is the server's side.
    }
}

@Suite("Security: every bad peer is refused, counted, and changes nothing")
struct SecurityTests {
    /// Runs the active director with some connections, lets `attack` at it, then checks that a good standby still
    /// gets the whole table.
    func underAttack(
        _ attack: (MirroringPair, Int) async throws -> Void,
        check: (PeerCounters) -> Void
    ) async throws {
        let pair = try MirroringPair()
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            let port = try #require(pair.listeningPort)
            pair.master.emit(TestConnections.messages(0..<1_000))
            #expect(await eventually { pair.source.figures.entries == 1_000 })
            try await attack(pair, port)
            #expect(pair.source.table.count == 1_000, "the table is unaffected")
            try await whileRunning([try pair.standbyService()]) {
                #expect(await eventually { pair.converged })
            }
        }
        check(pair.activeCounters)
    }

    @Test("a peer with a certificate from another CA")
    func foreignCA() async throws {
        try await underAttack(
            { pair, port in
                let stranger = try CertificateAuthority.generate(commonName: "not our CA")
                let identity = try pair.pki.nodeIdentity("dirb", issuer: stranger)
                await connectAndSend(port: port, identity: identity, bytes: [1, 2, 3])
            },
            check: { #expect($0["refused.unknown_ca"] == 1) }
        )
    }

    @Test("a peer with an expired certificate of our CA: let in for adverts only (degraded), its garbage ends it")
    func expired() async throws {
        try await underAttack(
            { pair, port in
                let past = Date().addingTimeInterval(-10 * 86_400)
                let identity = try pair.pki.nodeIdentity(
                    "dirb",
                    notValidBefore: past.addingTimeInterval(-86_400),
                    notValidAfter: past,
                    loadAt: past.addingTimeInterval(-3_600)
                )
                await connectAndSend(port: port, identity: identity, bytes: [1, 2, 3])
            },
            check: {
                #expect($0["refused.expired"] == 0)
                #expect($0["degraded.expired"] == 1)
            }
        )
    }

    @Test("a peer whose certificate names another node")
    func wrongIdentity() async throws {
        try await underAttack(
            { pair, port in
                await connectAndSend(port: port, identity: try pair.pki.nodeIdentity("mallory"), bytes: [1, 2, 3])
            },
            check: { #expect($0["refused.wrong_identity"] == 1) }
        )
    }

    @Test("a plaintext client")
    func plaintext() async throws {
        try await underAttack(
            { _, port in
                await connectAndSend(port: port, identity: nil, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8))
            },
            check: { #expect($0["refused.not_tls"] == 1) }
        )
    }

    @Test("an authenticated peer that sends garbage")
    func garbage() async throws {
        try await underAttack(
            { pair, port in
                let junk: [UInt8] = [0, 0, 0, 8] + Array(repeating: 0xff, count: 8)
                await connectAndSend(port: port, identity: try pair.pki.nodeIdentity("dirb"), bytes: junk)
            },
            check: { #expect($0["closed.malformed_frame"] == 1) }
        )
    }

    @Test("an authenticated peer that announces a 4 GiB frame")
    func hugeLengthPrefix() async throws {
        try await underAttack(
            { pair, port in
                await connectAndSend(
                    port: port,
                    identity: try pair.pki.nodeIdentity("dirb"),
                    bytes: [0xff, 0xff, 0xff, 0xff, 1]
                )
            },
            check: { #expect($0["closed.frame_too_large"] == 1) }
        )
    }

    @Test("an authenticated peer whose hello claims another name")
    func helloLies() async throws {
        try await underAttack(
            { pair, port in
                let hello = PeerMessage.hello(
                    .init(
                        node: "dirc",
                        syncID: 7,
                        role: .receiver,
                        position: .none,
                        heartbeatInterval: .milliseconds(100),
                        maximumFrameLength: 1 << 20
                    )
                )
                var frame = ByteBuffer()
                try PeerFrameEncoder().encode(data: hello, out: &frame)
                await connectAndSend(
                    port: port,
                    identity: try pair.pki.nodeIdentity("dirb"),
                    bytes: Array(frame.readableBytesView)
                )
            },
            check: { #expect($0["closed.unexpected_node"] == 1) }
        )
    }
}
