import Foundation
import PeerTransport
import X509

/// Certificates for the tests, written into a fresh temporary directory: our CA (`ca.pem`), a foreign CA
/// (`foreign-ca.pem`), both (`both-cas.pem`), and node identities issued on demand.
public struct TestPKI: Sendable {
    /// Where the files are.
    public let directory: URL
    /// Our CA.
    public let authority: CertificateAuthority
    /// A CA nobody trusts.
    public let foreignAuthority: CertificateAuthority
    /// How long a node certificate issued without a window lasts: 90 days, so that no daemon of a test or benchmark
    /// warns of its expiry (its monitor warns below 30).
    public static let nodeValidity: TimeInterval = 90 * 86_400

    /// A fresh directory with both CAs written.
    public init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lvsync-tls-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        authority = try CertificateAuthority.generate(commonName: "lvsync test CA")
        foreignAuthority = try CertificateAuthority.generate(commonName: "foreign CA")
        try write(authority.certificatePEM, to: "ca.pem")
        try write(foreignAuthority.certificatePEM, to: "foreign-ca.pem")
        try write(authority.certificatePEM + foreignAuthority.certificatePEM, to: "both-cas.pem")
    }

    /// The path of file `name` in the directory.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes `text` into file `name`.
    public func write(_ text: String, to name: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    /// Writes a private key into file `name` with mode 0600 (a key readable by others is refused).
    public func writeKey(_ text: String, to name: String) throws {
        try write(text, to: name)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path(name))
    }

    /// Writes an issued certificate and key under `label` and returns their paths.
    public func files(for issued: IssuedCertificate, label: String) throws -> (certificate: String, key: String) {
        try write(issued.certificatePEM, to: "\(label).pem")
        try writeKey(issued.privateKeyPEM, to: "\(label)-key.pem")
        return (path("\(label).pem"), path("\(label)-key.pem"))
    }

    /// The files of a node certificate our CA issues now (valid from five minutes ago for ``nodeValidity``): what a
    /// configuration's `tls` section names.
    ///
    /// `notValidBefore` and `notValidAfter` give another window (an expired certificate, say).
    public func files(
        node: String,
        notValidBefore: Date = Date().addingTimeInterval(-300),
        notValidAfter: Date = Date().addingTimeInterval(nodeValidity)
    ) throws -> (ca: String, certificate: String, key: String) {
        let issued = try authority.issue(node: node, notValidBefore: notValidBefore, notValidAfter: notValidAfter)
        let files = try files(for: issued, label: "\(node)-\(UUID().uuidString)")
        return (path("ca.pem"), files.certificate, files.key)
    }

    /// A node identity signed by our CA (or `issuer`), trusting `caFile`; loaded just inside its window.
    public func identity(
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

    /// A node identity for a peer of the tests' directors: issued by our CA (or by `issuer`, then trusting both CAs:
    /// its own, or it would not load, and ours, or it would refuse our server first), loaded at `loadAt`.
    public func nodeIdentity(
        _ node: String,
        issuer: CertificateAuthority? = nil,
        notValidBefore: Date = Date().addingTimeInterval(-300),
        notValidAfter: Date = Date().addingTimeInterval(nodeValidity),
        loadAt: Date = Date()
    ) throws -> NodeIdentity {
        let authority = issuer ?? self.authority
        let issued = try authority.issue(node: node, notValidBefore: notValidBefore, notValidAfter: notValidAfter)
        let tag = UUID().uuidString
        let files = try files(for: issued, label: "\(node)-\(tag)")
        let caFile = "ca-\(tag).pem"
        try write(authority.certificatePEM + self.authority.certificatePEM, to: caFile)
        return try NodeIdentity.load(
            certificateFile: files.certificate,
            privateKeyFile: files.key,
            caFile: path(issuer == nil ? "ca.pem" : caFile),
            now: loadAt
        )
    }

    /// Removes the directory.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
