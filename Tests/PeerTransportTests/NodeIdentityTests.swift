import Foundation
import LVSyncTestSupport
import PeerTransport
import Testing
import X509

/// Loading this node's identity: every problem is named with its file.
@Suite("NodeIdentity.load")
struct NodeIdentityTests {
    let pki: TestPKI

    init() throws { pki = try TestPKI() }

    private func load(certificate: String, key: String, ca: String = "ca.pem", now: Date = Date()) throws
        -> NodeIdentity
    {
        try NodeIdentity.load(
            certificateFile: pki.path(certificate),
            privateKeyFile: pki.path(key),
            caFile: pki.path(ca),
            now: now
        )
    }

    private func loadError(certificate: String, key: String, ca: String = "ca.pem") -> PeerTransportError? {
        do {
            _ = try load(certificate: certificate, key: key, ca: ca)
            return nil
        } catch {
            return error as? PeerTransportError
        }
    }

    @Test("a good identity loads with its node name")
    func good() throws {
        _ = try pki.files(for: try pki.authority.issue(node: "dira"), label: "dira")
        let identity = try load(certificate: "dira.pem", key: "dira-key.pem")
        #expect(identity.name == "dira")
        #expect(identity.certificateChain.count == 1)
        #expect(identity.trustRoots == [pki.authority.certificate])
        pki.remove()
    }

    @Test("a missing file, a file that is not PEM, a key of another certificate")
    func badFiles() throws {
        _ = try pki.files(for: try pki.authority.issue(node: "dira"), label: "dira")
        _ = try pki.files(for: try pki.authority.issue(node: "dirb"), label: "dirb")
        try pki.write("not a certificate\n", to: "junk.pem")

        let missing = loadError(certificate: "nope.pem", key: "dira-key.pem")
        #expect(missing == .fileUnreadable(path: pki.path("nope.pem"), kind: .certificate, detail: "no such file"))
        #expect(missing?.description == "\(pki.path("nope.pem")): cannot read the certificate (no such file)")

        let junkCertificate = loadError(certificate: "junk.pem", key: "dira-key.pem")
        #expect(junkCertificate?.reason == "identity_not_pem")
        #expect(junkCertificate?.description.hasPrefix("\(pki.path("junk.pem")): not a PEM certificate") == true)

        try pki.writeKey("not a key", to: "junk-key.pem")
        let junkKey = loadError(certificate: "dira.pem", key: "junk-key.pem")
        #expect(junkKey?.description.hasPrefix("\(pki.path("junk-key.pem")): not a PEM private key") == true)

        let junkCA = loadError(certificate: "dira.pem", key: "dira-key.pem", ca: "junk.pem")
        #expect(junkCA?.description.hasPrefix("\(pki.path("junk.pem")): not a PEM CA bundle") == true)

        let mismatch = loadError(certificate: "dira.pem", key: "dirb-key.pem")
        #expect(
            mismatch
                == .keyDoesNotMatchCertificate(keyPath: pki.path("dirb-key.pem"), certificatePath: pki.path("dira.pem"))
        )
        pki.remove()
    }

    @Test("an expired or not yet valid certificate is named with its dates")
    func dates() throws {
        let now = Date()
        let expired = try pki.authority.issue(
            node: "dira",
            notValidBefore: now.addingTimeInterval(-10 * 86_400),
            notValidAfter: now.addingTimeInterval(-86_400)
        )
        _ = try pki.files(for: expired, label: "expired")
        let error = loadError(certificate: "expired.pem", key: "expired-key.pem")
        guard case .certificateExpired(let path, let notValidAfter, _) = error else {
            Issue.record("expected certificateExpired, got \(String(describing: error))")
            return
        }
        #expect(path == pki.path("expired.pem"))
        #expect(notValidAfter == expired.certificate.notValidAfter)
        #expect(error?.description.contains("expired on \(notValidAfter.formatted(.iso8601))") == true)

        let future = try pki.authority.issue(
            node: "dira",
            notValidBefore: now.addingTimeInterval(86_400),
            notValidAfter: now.addingTimeInterval(10 * 86_400)
        )
        _ = try pki.files(for: future, label: "future")
        #expect(loadError(certificate: "future.pem", key: "future-key.pem")?.reason == "identity_not_yet_valid")
        pki.remove()
    }

    @Test("a certificate of another CA is not signed by the configured CA")
    func foreignCA() throws {
        _ = try pki.files(for: try pki.foreignAuthority.issue(node: "dira"), label: "foreign")
        let error = loadError(certificate: "foreign.pem", key: "foreign-key.pem")
        #expect(error == .certificateNotSignedByCA(path: pki.path("foreign.pem"), caPath: pki.path("ca.pem")))
        // With both CAs in the bundle it loads.
        #expect(loadError(certificate: "foreign.pem", key: "foreign-key.pem", ca: "both-cas.pem") == nil)
        pki.remove()
    }
}
