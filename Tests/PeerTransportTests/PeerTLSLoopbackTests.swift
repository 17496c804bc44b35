import Foundation
import LVSyncTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import PeerTransport
import Synchronization
import Testing
import X509

/// Mutual TLS over real loopback TCP: a listener for node `dira` that accepts only `dirb`, and clients good and bad.
/// Every refusal test checks the reason the server reported and that a good client still gets through afterwards.
@Suite("PeerTLS over loopback")
struct PeerTLSLoopbackTests {
    let pki: TestPKI
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let serverTLS: PeerTLS
    let goodClientTLS: PeerTLS

    init() throws {
        pki = try TestPKI()
        serverTLS = try PeerTLS(identity: try pki.identity("dira").identity)
        goodClientTLS = try PeerTLS(identity: try pki.identity("dirb").identity)
    }

    private func withServer(_ body: (TestServer) async throws -> Void) async throws {
        let server = try await TestServer(group: group, tls: serverTLS, acceptedPeers: ["dirb"])
        do {
            try await body(server)
        } catch {
            try? await server.close()
            try? await group.shutdownGracefully()
            pki.remove()
            throw error
        }
        try await server.close()
        try await group.shutdownGracefully()
        pki.remove()
    }

    /// A good client after a refusal: it is authenticated as `dira` and its bytes come back.
    private func expectGoodClientGetsThrough(_ server: TestServer) async throws {
        let outcome = try await dial(group: group, port: server.port, tls: goodClientTLS, expectedPeer: "dira")
        #expect(try outcome.authenticated.get().name == "dira")
        #expect(try outcome.echoed.get() == Array("ping".utf8))
        #expect(server.log.authenticated.withLock { $0.map(\.name) }.contains("dirb"))
    }

    @Test("a good pair: the handshake completes, both learn the other's name, bytes flow both ways")
    func goodPair() async throws {
        try await withServer { server in
            let outcome = try await dial(
                group: group,
                port: server.port,
                tls: goodClientTLS,
                expectedPeer: "dira",
                message: "hello dira"
            )
            let peer = try outcome.authenticated.get()
            #expect(peer.name == "dira")
            #expect(peer.address == "127.0.0.1:\(server.port)")
            #expect(try outcome.echoed.get() == Array("hello dira".utf8))
            #expect(server.applicationBytes == Array("hello dira".utf8))
            #expect(server.log.authenticated.withLock { $0.map(\.name) } == ["dirb"])
            #expect(server.refusalCount == 0)
        }
    }

    @Test("a client certificate from another CA is refused as unknown_ca")
    func foreignCA() async throws {
        try await withServer { server in
            // The client trusts our CA (so it accepts the server) but presents a certificate of a foreign CA.
            let foreign = try pki.identity("dirb", issuer: pki.foreignAuthority, caFile: "both-cas.pem", label: "x")
            let outcome = try await dial(
                group: group,
                port: server.port,
                tls: try PeerTLS(identity: foreign.identity),
                expectedPeer: "dira"
            )
            let refusal = try #require(await server.refusal(0))
            #expect(refusal.reason == "unknown_ca")
            #expect(refusal.description.contains("not signed by our certificate authority"))
            #expect(refusal.description.contains("foreign CA"))
            // TLS 1.3: the client finished its handshake before the server checked its certificate; the server's
            // alert then arrives as the client's first read. With a custom verification callback BoringSSL always
            // sends certificate_unknown: only the verifying side knows the precise reason.
            #expect(
                rejection(of: outcome)
                    == .rejectedByPeer(peer: "127.0.0.1:\(server.port)", alert: "certificate_unknown")
            )
            #expect(server.applicationBytes.isEmpty)
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("an expired client certificate is refused as expired, with its date")
    func expiredClient() async throws {
        try await withServer { server in
            let now = Date()
            let expired = try pki.identity(
                "dirb",
                notValidBefore: now.addingTimeInterval(-30 * 86_400),
                notValidAfter: now.addingTimeInterval(-86_400),
                label: "expired"
            )
            let outcome = try await dial(
                group: group,
                port: server.port,
                tls: try PeerTLS(identity: expired.identity),
                expectedPeer: "dira"
            )
            let refusal = try #require(await server.refusal(0))
            #expect(refusal.reason == "expired")
            #expect(
                refusal
                    == .peerCertificateExpired(
                        peer: refusal.peer ?? "",
                        notValidAfter: expired.issued.certificate.notValidAfter
                    )
            )
            #expect(rejection(of: outcome)?.reason == "rejected_by_peer")
            #expect(server.applicationBytes.isEmpty)
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a client certificate that is not valid yet is refused as not_yet_valid")
    func notYetValidClient() async throws {
        try await withServer { server in
            let now = Date()
            let early = try pki.identity(
                "dirb",
                notValidBefore: now.addingTimeInterval(86_400),
                notValidAfter: now.addingTimeInterval(30 * 86_400),
                label: "early"
            )
            _ = try await dial(
                group: group,
                port: server.port,
                tls: try PeerTLS(identity: early.identity),
                expectedPeer: "dira"
            )
            #expect(await server.refusal(0)?.reason == "not_yet_valid")
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a valid client certificate naming an unknown node is refused as wrong_identity")
    func wrongClientIdentity() async throws {
        try await withServer { server in
            let mallory = try pki.identity("mallory")
            let outcome = try await dial(
                group: group,
                port: server.port,
                tls: try PeerTLS(identity: mallory.identity),
                expectedPeer: "dira"
            )
            let refusal = try #require(await server.refusal(0))
            #expect(refusal.reason == "wrong_identity")
            #expect(refusal == .wrongIdentity(peer: refusal.peer ?? "", presented: ["mallory"], expected: ["dirb"]))
            #expect(refusal.description.contains("'mallory'"))
            #expect(rejection(of: outcome)?.reason == "rejected_by_peer")
            #expect(server.applicationBytes.isEmpty)
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a client refuses a server that is not the node it dialed, as wrong_identity, before sending anything")
    func wrongServerIdentity() async throws {
        try await withServer { server in
            // The server is `dira`; the client dials expecting `dirc`.
            let outcome = try await dial(group: group, port: server.port, tls: goodClientTLS, expectedPeer: "dirc")
            let clientError = try #require(outcome.authenticationError)
            #expect(clientError.reason == "wrong_identity")
            #expect(
                clientError == .wrongIdentity(peer: "127.0.0.1:\(server.port)", presented: ["dira"], expected: ["dirc"])
            )
            // The client aborted the handshake with an alert: the server reports being refused.
            #expect(await server.refusal(0)?.reason == "rejected_by_peer")
            #expect(server.applicationBytes.isEmpty)
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a client refuses a server whose certificate names mallory, before sending anything")
    func malloryServer() async throws {
        let mallory = try pki.identity("mallory", label: "mallory-server")
        let malloryServer = try await TestServer(
            group: group,
            tls: try PeerTLS(identity: mallory.identity),
            acceptedPeers: ["dirb"]
        )
        let outcome = try await dial(group: group, port: malloryServer.port, tls: goodClientTLS, expectedPeer: "dira")
        let clientError = outcome.authenticationError
        #expect(clientError?.reason == "wrong_identity")
        #expect(clientError?.description.contains("names 'mallory'") == true)
        #expect(malloryServer.applicationBytes.isEmpty)
        try await malloryServer.close()
        try await group.shutdownGracefully()
        pki.remove()
    }

    @Test("a plaintext client is refused as not_tls, and none of its bytes reach the application")
    func plaintextClient() async throws {
        try await withServer { server in
            let outcome = try await dialRaw(group: group, port: server.port, tls: nil, message: "HELLO dira\n")
            #expect(await server.refusal(0)?.reason == "not_tls")
            if case .success(let bytes) = outcome { Issue.record("the plaintext client read \(bytes)") }
            #expect(server.applicationBytes.isEmpty)
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a plaintext client that sends two bytes and waits is refused as not_tls at once")
    func shortPlaintextClient() async throws {
        try await withServer { server in
            let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: server.port).get()
            try await channel.writeAndFlush(ByteBuffer(string: "hi"))
            // Fewer bytes than a TLS record header: only the first-byte check can refuse it while it waits.
            #expect(await server.refusal(0, within: 5)?.reason == "not_tls")
            try? await channel.close()
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a plaintext client sending an HTTP request is refused as not_tls")
    func httpClient() async throws {
        try await withServer { server in
            _ = try await dialRaw(group: group, port: server.port, tls: nil, message: "GET / HTTP/1.1\r\n\r\n")
            #expect(await server.refusal(0)?.reason == "not_tls")
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a TLS 1.2-only client is refused as tls_version")
    func tls12Client() async throws {
        try await withServer { server in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.maximumTLSVersion = .tlsv12
            configuration.certificateVerification = .none
            let outcome = try await dialRaw(group: group, port: server.port, tls: configuration)
            #expect(await server.refusal(0)?.reason == "tls_version")
            if case .success = outcome { Issue.record("the TLS 1.2 client got an echo") }
            #expect(server.applicationBytes.isEmpty)
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a TLS 1.3 client without a certificate is refused as no_certificate")
    func clientWithoutCertificate() async throws {
        try await withServer { server in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv13
            configuration.certificateVerification = .none
            let outcome = try await dialRaw(group: group, port: server.port, tls: configuration)
            #expect(await server.refusal(0)?.reason == "no_certificate")
            if case .success = outcome { Issue.record("the client without a certificate got an echo") }
            try await expectGoodClientGetsThrough(server)
        }
    }

    @Test("a client that connects and closes without a word is reported as handshake_failed")
    func silentClient() async throws {
        try await withServer { server in
            let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: server.port).get()
            try await channel.close()
            let refusal = try #require(await server.refusal(0))
            #expect(refusal.reason == "handshake_failed")
            #expect(refusal.description.contains("closed during the handshake"))
            try await expectGoodClientGetsThrough(server)
        }
    }

    /// The error the client saw instead of its echo.
    private func rejection(of outcome: ClientOutcome) -> PeerTransportError? {
        if case .failure(let error) = outcome.echoed { return error as? PeerTransportError }
        return nil
    }
}
