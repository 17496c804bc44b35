import Foundation
import PeerTransport
import X509

/// Certificates for the tests, written into a fresh temporary directory: our CA, a foreign CA, and node identities.
struct TestPKI {
    let directory: URL
    let authority: CertificateAuthority
    let foreignAuthority: CertificateAuthority

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lvsync-tls-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        authority = try CertificateAuthority.generate(commonName: "lvsync test CA")
        foreignAuthority = try CertificateAuthority.generate(commonName: "foreign CA")
        try write(authority.certificatePEM, to: "ca.pem")
        try write(foreignAuthority.certificatePEM, to: "foreign-ca.pem")
        try write(authority.certificatePEM + foreignAuthority.certificatePEM, to: "both-cas.pem")
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ text: String, to name: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    /// Writes an issued certificate and key under `label` and returns their paths.
    func files(for issued: IssuedCertificate, label: String) throws -> (certificate: String, key: String) {
        try write(issued.certificatePEM, to: "\(label).pem")
        try write(issued.privateKeyPEM, to: "\(label)-key.pem")
        return (path("\(label).pem"), path("\(label)-key.pem"))
    }

    /// A node identity signed by our CA (or `issuer`), trusting `caFile`; loaded at `loadTime` (inside its window).
    func identity(
        _ node: String,
        issuer: CertificateAuthority? = nil,
        caFile: String = "ca.pem",
        notValidBefore: Date? = nil,
        notValidAfter: Date? = nil,
        label: String? = nil
    ) throws -> (identity: NodeIdentity, issued: IssuedCertificate) {
        let issuer = issuer ?? authority
        let issued: IssuedCertificate
        if let notValidBefore, let notValidAfter {
            issued = try issuer.issue(node: node, notValidBefore: notValidBefore, notValidAfter: notValidAfter)
        } else {
            issued = try issuer.issue(node: node)
        }
        let files = try files(for: issued, label: label ?? node)
        let loadTime = issued.certificate.notValidBefore.addingTimeInterval(1)
        let identity = try NodeIdentity.load(
            certificateFile: files.certificate,
            privateKeyFile: files.key,
            caFile: path(caFile),
            now: loadTime
        )
        return (identity, issued)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
