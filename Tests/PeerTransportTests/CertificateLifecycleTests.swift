import Foundation
import LVSyncTestSupport
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import Synchronization
import Testing
import X509

/// Certificates over their life: expiry as pure functions, key file modes, issue/renew/show, swapping the material
/// for new links, and peers whose only fault is their dates.
@Suite("Certificate lifecycle")
struct CertificateLifecycleTests {
    static let end = Date(timeIntervalSince1970: 2_000_000_000)
    static let day: TimeInterval = 86_400

    @Test("seconds and days left, negative once expired")
    func timeLeft() {
        #expect(CertificateExpiry.secondsLeft(notValidAfter: Self.end, now: Self.end - 90) == 90)
        #expect(CertificateExpiry.secondsLeft(notValidAfter: Self.end, now: Self.end + 30) == -30)
        #expect(CertificateExpiry.daysLeft(notValidAfter: Self.end, now: Self.end - 10.5 * Self.day) == 10)
        #expect(CertificateExpiry.daysLeft(notValidAfter: Self.end, now: Self.end - 60) == 0)
        #expect(CertificateExpiry.daysLeft(notValidAfter: Self.end, now: Self.end + 60) == -1)
    }

    @Test("fine above 30 days, a warning below, an error below 7 days, expired past the end")
    func levels() {
        func level(_ daysLeft: Double) -> CertificateExpiry.Level {
            CertificateExpiry.level(notValidAfter: Self.end, now: Self.end - daysLeft * Self.day)
        }
        #expect(level(825) == .fine)
        #expect(level(30.01) == .fine)
        #expect(level(29.99) == .warning)
        #expect(level(7.01) == .warning)
        #expect(level(6.99) == .error)
        #expect(level(0.001) == .error)
        #expect(level(-0.001) == .expired)
        #expect(level(-3) == .expired)
    }

    @Test("a warning is logged once a day, at once when the level gets worse, never while fine")
    func logCadence() {
        let now = Self.end - 20 * Self.day
        #expect(!CertificateExpiry.isLogDue(.fine, now: now, last: nil))
        #expect(CertificateExpiry.isLogDue(.warning, now: now, last: nil))
        #expect(!CertificateExpiry.isLogDue(.warning, now: now + 3_600, last: (now, .warning)))
        #expect(!CertificateExpiry.isLogDue(.warning, now: now + Self.day - 1, last: (now, .warning)))
        #expect(CertificateExpiry.isLogDue(.warning, now: now + Self.day, last: (now, .warning)))
        #expect(CertificateExpiry.isLogDue(.error, now: now + 60, last: (now, .warning)))
        #expect(!CertificateExpiry.isLogDue(.warning, now: now + 60, last: (now, .error)))
        #expect(CertificateExpiry.isLogDue(.expired, now: now + 60, last: (now, .error)))
    }

    @Test("the next look is when the level changes (one second past), at most the interval, at least a second")
    func nextCheck() {
        func next(_ secondsLeft: Double) -> TimeInterval {
            CertificateExpiry.nextCheck(notValidAfter: Self.end, now: Self.end - secondsLeft, interval: 3_600)
        }
        #expect(next(825 * Self.day) == 3_600)
        #expect(next(30 * Self.day + 100) == 101)
        #expect(next(7 * Self.day + 10) == 11)
        #expect(next(40) == 41)
        #expect(next(0.5) == 1.5)
        #expect(next(-10) == 3_600)
        #expect(next(-0.5) == 1)
    }

    @Test("a key readable by group or others is refused with the reason; 0600 and 0400 load")
    func keyModes() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let files = try pki.files(node: "dira")
        for mode in [0o644, 0o640, 0o604] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: files.key)
            #expect(throws: PeerTransportError.keyReadableByOthers(path: files.key, mode: UInt16(mode))) {
                try NodeIdentity.load(certificateFile: files.certificate, privateKeyFile: files.key, caFile: files.ca)
            }
        }
        let error = PeerTransportError.keyReadableByOthers(path: "/etc/lvsync/a-key.pem", mode: 0o644)
        #expect(
            error.description
                == "/etc/lvsync/a-key.pem is readable by group/others (mode 0644): chmod 600 /etc/lvsync/a-key.pem"
        )
        #expect(error.reason == "key_readable_by_others")
        for mode in [0o600, 0o400] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: files.key)
            let identity = try NodeIdentity.load(
                certificateFile: files.certificate,
                privateKeyFile: files.key,
                caFile: files.ca
            )
            #expect(identity.name == "dira")
        }
        // Certificates and the CA may be world-readable.
        #expect(try mode(files.certificate) & 0o044 != 0)
    }

    @Test("issue, renew and show: a node certificate from the directory's CA, a new key keeping the name, a summary")
    func issueRenewShow() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvsync-certs-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Whole seconds: certificates carry their dates to the second.
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        try CertificateDirectory.initialize(directory: directory, nodes: ["dira"], now: start)
        let written = try CertificateDirectory.issue(directory: directory, node: "dirc", days: 10, now: start)
        #expect(written.map(\.path) == ["\(directory)/dirc.pem", "\(directory)/dirc-key.pem"])
        #expect(try mode("\(directory)/dirc-key.pem") == 0o600)
        #expect(try mode("\(directory)/dirc.pem") == 0o644)
        let first = try NodeIdentity.load(
            certificateFile: "\(directory)/dirc.pem",
            privateKeyFile: "\(directory)/dirc-key.pem",
            caFile: "\(directory)/ca.pem",
            now: start
        )
        #expect(first.name == "dirc")
        #expect(throws: PeerTransportError.fileExists(path: "\(directory)/dirc.pem")) {
            try CertificateDirectory.issue(directory: directory, node: "dirc", now: start)
        }

        let later = start.addingTimeInterval(5 * 86_400)
        try CertificateDirectory.renew(directory: directory, node: "dirc", days: 30, now: later)
        #expect(try mode("\(directory)/dirc-key.pem") == 0o600)
        let renewed = try NodeIdentity.load(
            certificateFile: "\(directory)/dirc.pem",
            privateKeyFile: "\(directory)/dirc-key.pem",
            caFile: "\(directory)/ca.pem",
            now: later
        )
        #expect(renewed.name == "dirc")
        #expect(renewed.certificateChain[0].publicKey != first.certificateChain[0].publicKey)
        #expect(renewed.certificateChain[0].notValidAfter > first.certificateChain[0].notValidAfter)
        #expect(throws: PeerTransportError.self) {
            try CertificateDirectory.renew(directory: directory, node: "nobody", now: later)
        }

        let summary = try CertificateSummary.read(
            path: "\(directory)/dirc.pem",
            caFile: "\(directory)/ca.pem",
            now: later
        )
        #expect(summary.dnsNames == ["dirc"])
        #expect(summary.subject == "CN=dirc")
        #expect(summary.issuer == "CN=lvsync CA")
        #expect(summary.daysLeft == 30)
        #expect(summary.chainsToCA == true)
        #expect(summary.lines.contains("days left: 30"))
        #expect(summary.lines.contains("chains to the CA: yes"))
        let pki = try TestPKI()
        defer { pki.remove() }
        let foreign = try CertificateSummary.read(path: "\(directory)/dirc.pem", caFile: pki.path("ca.pem"), now: later)
        #expect(foreign.chainsToCA == false)
        let expired = try CertificateSummary.read(path: "\(directory)/dirc.pem", now: later + 40 * 86_400)
        #expect(expired.daysLeft < 0 && expired.chainsToCA == nil)
        #expect(expired.lines.contains { $0.hasSuffix("(expired)") })
    }

    @Test("replaced TLS material applies to new connections; a link already up keeps its own")
    func swappedMaterial() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let store = PeerTLSStore(try PeerTLS(identity: try pki.identity("dira").identity))
        let client = try PeerTLS(identity: try pki.identity("dirb").identity)
        let accepted = Mutex<[PeerConnection]>([])
        let listener = try await PeerListener.bind(
            host: "127.0.0.1",
            port: 0,
            tls: store,
            acceptedPeers: ["dirb"],
            onRefused: { _ in }
        )
        let port = try #require(listener.channel.localAddress?.port)
        let serving = Task {
            try await listener.executeThenClose { inbound in
                for try await pending in inbound {
                    if let connection = try? await pending.authenticate() {
                        accepted.withLock { $0.append(connection) }
                    }
                }
            }
        }
        let first = try await PeerDialer.connect(host: "127.0.0.1", port: port, tls: client, expectedPeer: "dira")
        #expect(first.peer.name == "dira")

        // The listener's certificate is replaced by one of another CA: our client refuses the next connection.
        let replacement = try pki.identity(
            "dira",
            issuer: pki.foreignAuthority,
            caFile: "both-cas.pem",
            label: "dira-foreign"
        )
        store.replace(with: try PeerTLS(identity: replacement.identity))
        #expect(store.current.identity.certificateChain[0] == replacement.issued.certificate)
        await #expect(throws: PeerTransportError.self) {
            try await PeerDialer.connect(host: "127.0.0.1", port: port, tls: client, expectedPeer: "dira")
        }
        // The first link still works: a frame goes through it.
        #expect(first.channel.channel.isActive)
        try await first.channel.executeThenClose { _, outbound in
            try await outbound.write(.goodbye(reason: "done"))
        }
        try? await listener.channel.close()
        serving.cancel()
        _ = await serving.result
        for connection in accepted.withLock({ $0 }) {
            try? await connection.channel.executeThenClose { _, _ in }
        }
    }
}

/// Peers whose certificate's only fault is its dates, with ``PeerTLS/OutOfWindowPeers/acceptDegraded``.
@Suite("PeerTLS accepting out-of-window peers")
struct OutOfWindowPeerTests {
    @Test("an expired peer of our CA for an accepted name is let in with the fault; anything else is still refused")
    func datesOnly() async throws {
        let pki = try TestPKI()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { pki.remove() }
        let serverTLS = try PeerTLS(identity: try pki.identity("dira").identity, outOfWindowPeers: .acceptDegraded)
        let server = try await TestServer(group: group, tls: serverTLS, acceptedPeers: ["dirb"])
        let now = Date()
        func expired(_ node: String, issuer: CertificateAuthority? = nil, label: String) throws -> PeerTLS {
            let issued = try pki.identity(
                node,
                issuer: issuer,
                caFile: issuer == nil ? "ca.pem" : "both-cas.pem",
                notValidBefore: now.addingTimeInterval(-30 * 86_400),
                notValidAfter: now.addingTimeInterval(-86_400),
                label: label
            )
            return try PeerTLS(identity: issued.identity)
        }

        // Ours, for dirb, only expired: in, with the fault named; the bytes flow.
        let outcome = try await dial(
            group: group,
            port: server.port,
            tls: try expired("dirb", label: "dirb-expired"),
            expectedPeer: "dira"
        )
        #expect(try outcome.echoed.get() == Array("ping".utf8))
        let accepted = try #require(server.log.authenticated.withLock { $0.first })
        #expect(accepted.name == "dirb")
        #expect(accepted.certificateFault?.reason == "expired")

        // Not yet valid: in, with that fault.
        let future = try pki.identity(
            "dirb",
            notValidBefore: now.addingTimeInterval(86_400),
            notValidAfter: now.addingTimeInterval(30 * 86_400),
            label: "dirb-future"
        )
        _ = try await dial(
            group: group,
            port: server.port,
            tls: try PeerTLS(identity: future.identity),
            expectedPeer: "dira"
        )
        #expect(server.log.authenticated.withLock { $0.last?.certificateFault?.reason } == "not_yet_valid")

        // Expired and of another CA, or expired and naming another node: refused as before.
        _ = try await dial(
            group: group,
            port: server.port,
            tls: try expired("dirb", issuer: pki.foreignAuthority, label: "dirb-foreign"),
            expectedPeer: "dira"
        )
        #expect(await server.refusal(0)?.reason == "unknown_ca")
        _ = try await dial(
            group: group,
            port: server.port,
            tls: try expired("mallory", label: "mallory-expired"),
            expectedPeer: "dira"
        )
        #expect(await server.refusal(1)?.reason == "wrong_identity")
        #expect(server.log.authenticated.withLock { $0.count } == 2)

        // A valid peer carries no fault.
        _ = try await dial(
            group: group,
            port: server.port,
            tls: try PeerTLS(identity: try pki.identity("dirb", label: "dirb-good").identity),
            expectedPeer: "dira"
        )
        #expect(server.log.authenticated.withLock { $0.last?.certificateFault } == nil)
        try await server.close()
        try await group.shutdownGracefully()
    }
}

/// A file's permission bits.
private func mode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? Int) ?? -1
}
