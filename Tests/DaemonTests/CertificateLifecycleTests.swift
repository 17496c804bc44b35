import Config
import Control
import Daemon
import Failover
import Foundation
import LVSyncTestSupport
import PeerProtocol
import PeerTransport
import Testing
import X509

@Suite("TLS certificates while the daemon runs: reloads, expiry, a peer's expired certificate")
struct DaemonCertificateTests {
    /// The director's file with its `tls` line naming these files.
    static func yaml(_ pki: TestPKI, port: Int, peerPort: Int, tls: (ca: String, certificate: String, key: String))
        throws -> String
    {
        var file = TestDirectorFile(node: "dira", listen: port, peers: [("dirb", peerPort)])
        file.failover = "vips: [{ address: 10.0.0.100/32, interface: eth0 }]"
        let text = try file.yaml(pki: pki)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("tls:") ? "tls: { ca: \(tls.ca), certificate: \(tls.certificate), key: \(tls.key) }" : line
        }.joined(separator: "\n")
    }

    @Test("a reload puts renewed TLS files in use for new links; bad files refuse the reload and the old stay")
    func reload() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let director = try TestDirector(name: "dira", priority: 100, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let store = director.daemon.tls
        let original = store.current.identity.certificateChain[0]
        let reloader = director.daemon.reloader
        func reload(_ tls: (ca: String, certificate: String, key: String)) throws -> ConfigReloader.Outcome {
            reloader.reload(text: try Self.yaml(pki, port: ports[0], peerPort: ports[1], tls: tls))
        }

        // Renewed files: applied, and the store holds the new certificate.
        let renewed = try pki.files(node: "dira")
        guard case .applied = try reload(renewed) else {
            Issue.record("the renewed files were refused")
            return
        }
        let current = store.current.identity.certificateChain[0]
        #expect(current != original)
        #expect(current.serialNumber != original.serialNumber)

        func expectRefused(_ tls: (ca: String, certificate: String, key: String), saying words: String) throws {
            let outcome = try reload(tls)
            guard case .refused(let reason) = outcome else {
                Issue.record("reloaded with bad TLS files (\(words))")
                return
            }
            #expect(reason.contains(words), "\(reason)")
            #expect(store.current.identity.certificateChain[0] == current)
        }
        // A key readable by others.
        let open = try pki.files(node: "dira")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: open.key)
        try expectRefused(open, saying: "is readable by group/others (mode 0644): chmod 600 \(open.key)")
        // A key that is not the certificate's.
        let other = try pki.files(node: "dira")
        try expectRefused((renewed.ca, renewed.certificate, other.key), saying: "is not the key of the certificate")
        // A certificate for another node.
        let dirb = try pki.files(node: "dirb")
        try expectRefused(dirb, saying: "node is 'dira' but \(dirb.certificate) names 'dirb'")
        // A certificate of another CA.
        let foreign = try pki.foreignAuthority.issue(node: "dira")
        let foreignFiles = try pki.files(for: foreign, label: "dira-foreign")
        try expectRefused(
            (renewed.ca, foreignFiles.certificate, foreignFiles.key),
            saying: "is not signed by the certificate authority"
        )
        // A file that is gone.
        try expectRefused((renewed.ca, pki.path("nope.pem"), renewed.key), saying: "cannot read the certificate")
    }

    @Test("a key readable by others stops the daemon at start with the reason")
    func keyModeAtStart() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let files = try pki.files(node: "dira")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: files.key)
        let ports = try freePorts(2)
        let text = try Self.yaml(pki, port: ports[0], peerPort: ports[1], tls: files)
        let file = try LVSyncConfig(yaml: text, file: "dira.yaml")
        #expect(
            throws: DaemonError(
                "dira.yaml: tls: \(files.key) is readable by group/others (mode 0640): chmod 600 \(files.key)"
            )
        ) {
            try LVSyncDaemon(file: file, path: "dira.yaml", host: InMemoryHost().host, logger: quietLogger)
        }
    }

    @Test("the expiry monitor's levels follow the clock; status shows the node certificate's days left")
    func expiry() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let director = try TestDirector(name: "dira", priority: 100, port: ports[0], peer: ("dirb", ports[1]), pki: pki)
        let notAfter = director.daemon.tls.current.identity.certificateChain[0].notValidAfter
        func levels(daysBefore days: Double) -> [String: CertificateExpiry.Level] {
            CertificateExpiryMonitor(
                store: director.daemon.tls,
                clock: { notAfter.addingTimeInterval(-days * 86_400) },
                logger: quietLogger
            ).check()
        }
        #expect(levels(daysBefore: -0.5) == ["node": .expired, "ca": .fine])
        #expect(levels(daysBefore: 0.5)["node"] == .error)
        // The test CA lasts ten years: a node certificate valid for 60 days more is fine, for 20 a warning.
        let longer = try pki.authority.issue(node: "dira", days: 60)
        let files = try pki.files(for: longer, label: "dira-60")
        let identity = try NodeIdentity.load(
            certificateFile: files.certificate,
            privateKeyFile: files.key,
            caFile: pki.path("ca.pem")
        )
        let store = PeerTLSStore(try PeerTLS(identity: identity))
        func level(at date: Date) -> CertificateExpiry.Level? {
            CertificateExpiryMonitor(store: store, clock: { date }, logger: quietLogger).check()["node"]
        }
        let end = longer.certificate.notValidAfter
        #expect(level(at: end.addingTimeInterval(-40 * 86_400)) == .fine)
        #expect(level(at: end.addingTimeInterval(-20 * 86_400)) == .warning)
        #expect(level(at: end.addingTimeInterval(-3 * 86_400)) == .error)
        let status = try #require(director.daemon.control?.status())
        // The test certificate lasts 90 days (its end rounded to the second): 89 whole days left, or 90 within a
        // second.
        guard case .object(let object) = status else {
            Issue.record("status is not an object")
            return
        }
        #expect([.integer(89), .integer(90)].contains(object["tls_expires_in_days"]), "\(notAfter) \(Date())")
    }

    @Test("one director's certificate expired: the link is kept for adverts, exactly one director is active")
    func expiredPeerCertificate() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let now = Date()
        // dira's certificate ends three seconds from now: dira starts while it is valid and runs through its end,
        // then dirb starts and links with it.
        let a = try TestDirector(
            name: "dira",
            priority: 150,
            port: ports[0],
            peer: ("dirb", ports[1]),
            pki: pki,
            certificateWindow: (now.addingTimeInterval(-30 * 86_400), now.addingTimeInterval(3))
        )
        try await Task.sleep(for: .seconds(max(0, now.addingTimeInterval(3.5).timeIntervalSinceNow)))
        let b = try TestDirector(name: "dirb", priority: 100, port: ports[1], peer: ("dira", ports[0]), pki: pki)
        try await whileDirecting([a, b]) { _ in
            // Watches for both directors active at once, from the start to the end of the checks.
            let watch = Task {
                var seen = false
                while !Task.isCancelled {
                    if a.role == .active && b.role == .active { seen = true }
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return seen
            }
            #expect(await eventually(limit: .seconds(30)) { a.role == .active && b.role == .standby })
            // dirb warns: its links with dira are degraded (adverts only) because of dira's certificate.
            #expect(await eventually(limit: .seconds(30)) { b.service.counters["degraded.expired"] >= 1 })
            // Three dead intervals more: dirb still hears dira and stays standby.
            try await Task.sleep(for: .seconds(3))
            #expect(a.role == .active && b.role == .standby)
            #expect(a.holdsVIP && !b.holdsVIP)
            #expect(b.service.director.lastTransition?.from == .initialising)
            #expect(b.service.director.lastTransition?.to == .standby)
            #expect(b.service.director.peers["dira"]?.advert.state == .active)
            #expect(a.service.director.peers["dirb"]?.advert.inSync != true)

            // dira renews and reloads: its degraded links are made again with the new
            // material, and dirb gets its mirror stream back without a restart of either.
            let renewed = try pki.files(node: "dira")
            let identity = try NodeIdentity.load(
                certificateFile: renewed.certificate,
                privateKeyFile: renewed.key,
                caFile: renewed.ca
            )
            a.daemon.tls.replace(with: try PeerTLS(identity: identity, outOfWindowPeers: .acceptDegraded))
            #expect(await eventually(limit: .seconds(20)) { a.service.director.peers["dirb"]?.advert.inSync == true })
            #expect(a.role == .active && b.role == .standby)
            watch.cancel()
            let sawBothActive = await watch.value
            #expect(!sawBothActive)
        }
    }
}
