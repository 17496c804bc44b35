import Crypto
import Foundation
import SwiftASN1
import X509

/// A private certificate authority for a director pair: a self-signed P-256 ECDSA CA that issues node certificates.
///
/// A node certificate names the node in its subject alternative names (`DNS:dira`) and its common name, may be used
/// as a TLS server and client certificate (extended key usage serverAuth and clientAuth) and is signed by the CA.
public struct CertificateAuthority: Sendable {
    /// The CA's self-signed certificate: the trust root every node is configured with.
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    /// The default lifetime of a CA certificate: ten years.
    public static let defaultCALifetimeDays = 3650
    /// The default lifetime of a node certificate: 825 days.
    public static let defaultNodeLifetimeDays = 825
    /// How far back a new certificate's validity starts, for clocks that are a little behind ours.
    public static let backdating: TimeInterval = 300

    /// Creates a new CA with a fresh key, valid from a few minutes before `now` for `days` days.
    public static func generate(
        commonName: String = "lvsync CA",
        days: Int = defaultCALifetimeDays,
        now: Date = Date()
    ) throws(PeerTransportError) -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let signingKey = Certificate.PrivateKey(key)
        do {
            let name = try DistinguishedName { CommonName(commonName) }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: signingKey.publicKey)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: signingKey.publicKey,
                notValidBefore: now.addingTimeInterval(-backdating),
                notValidAfter: now.addingTimeInterval(TimeInterval(days) * 86_400),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: signingKey
            )
            return CertificateAuthority(certificate: certificate, key: key)
        } catch {
            throw .cannotIssue(subject: commonName, detail: "\(error)")
        }
    }

    /// Loads a CA written earlier (`ca.pem` and `ca-key.pem`), to issue more node certificates.
    public init(certificatePEM: String, privateKeyPEM: String) throws(PeerTransportError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw .notPEM(path: "ca.pem", kind: .caBundle, detail: "\(error)")
        }
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw .notPEM(path: "ca-key.pem", kind: .privateKey, detail: "not a P-256 key: \(error)")
        }
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw .keyDoesNotMatchCertificate(keyPath: "ca-key.pem", certificatePath: "ca.pem")
        }
        self.init(certificate: certificate, key: key)
    }

    private init(certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// Issues a node certificate valid from a few minutes before `now` for `days` days.
    public func issue(
        node: String,
        days: Int = defaultNodeLifetimeDays,
        now: Date = Date()
    ) throws(PeerTransportError) -> IssuedCertificate {
        try issue(node: node, lifetime: TimeInterval(days) * 86_400, now: now)
    }

    /// Issues a node certificate valid from a few minutes before `now` until `lifetime` seconds after it.
    public func issue(node: String, lifetime: TimeInterval, now: Date = Date()) throws(PeerTransportError)
        -> IssuedCertificate
    {
        try issue(
            node: node,
            notValidBefore: now.addingTimeInterval(-Self.backdating),
            notValidAfter: now.addingTimeInterval(lifetime)
        )
    }

    /// Issues a node certificate with an explicit validity window (an expired or future one included, for tests).
    public func issue(
        node: String,
        notValidBefore: Date,
        notValidAfter: Date
    ) throws(PeerTransportError) -> IssuedCertificate {
        guard NodeName.isValid(node) else { throw .invalidNodeName(node) }
        let nodeKey = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(nodeKey.publicKey)
        do {
            let authorityKeyIdentifier = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.dnsName(node)])
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier)
            }
            let leaf = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: notValidBefore,
                notValidAfter: notValidAfter,
                issuer: certificate.subject,
                subject: try DistinguishedName { CommonName(node) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(key)
            )
            return IssuedCertificate(node: node, certificate: leaf, key: nodeKey)
        } catch {
            throw .cannotIssue(subject: node, detail: "\(error)")
        }
    }

    /// The CA certificate as PEM (`ca.pem`).
    public var certificatePEM: String { PEM.certificate(certificate) }

    /// The CA's private key as PEM (PKCS#8, `ca-key.pem`). Keep it off the directors if you can.
    public var privateKeyPEM: String { key.pemRepresentation + "\n" }
}

/// A node certificate and its private key, as issued by a ``CertificateAuthority``.
public struct IssuedCertificate: Sendable {
    /// The node the certificate names.
    public let node: String
    /// The certificate.
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    init(node: String, certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.node = node
        self.certificate = certificate
        self.key = key
    }

    /// The certificate as PEM (`NAME.pem`).
    public var certificatePEM: String { PEM.certificate(certificate) }

    /// The private key as PEM (PKCS#8, `NAME-key.pem`).
    public var privateKeyPEM: String { key.pemRepresentation + "\n" }
}

/// PEM text of certificates.
enum PEM {
    static func certificate(_ certificate: Certificate) -> String {
        // Serializing a certificate we hold in memory cannot fail: it was parsed or built from valid DER.
        try! certificate.serializeAsPEM().pemString + "\n"
    }
}

/// What a node name may be: a DNS name (it goes into the certificate's subject alternative names).
enum NodeName {
    static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy(isLabelByte)
        }
    }

    private static func isLabelByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
