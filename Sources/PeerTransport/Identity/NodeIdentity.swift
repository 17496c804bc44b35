import Foundation
import NIOSSL
import SwiftASN1
import X509

/// This node's TLS identity: its certificate chain and private key, and the CA its peers' certificates must chain
/// to.
///
/// ``load(certificateFile:privateKeyFile:caFile:now:)`` checks everything a peer would check, so a node with a bad
/// identity fails at start with a sentence instead of at every connection.
public struct NodeIdentity: Sendable {
    /// The node name the certificate carries (its first DNS subject alternative name), e.g. `dira`.
    public let name: String
    /// The certificate chain, leaf first.
    public let certificateChain: [Certificate]
    /// The certificate authorities peers must chain to (the only trust roots; no system roots).
    public let trustRoots: [Certificate]
    let nioCertificateChain: [NIOSSLCertificate]
    let nioPrivateKey: NIOSSLPrivateKey
    let nioTrustRoots: [NIOSSLCertificate]

    /// Loads and checks the PEM files: the certificate (chain, leaf first), its private key and the CA bundle.
    ///
    /// Fails with a ``PeerTransportError`` that names the file and the problem: missing, a key file readable by group
    /// or others, not PEM, key does not match the certificate, certificate expired or not yet valid (with the dates),
    /// certificate not signed by the CA. Certificates and the CA bundle may be world-readable.
    public static func load(
        certificateFile: String,
        privateKeyFile: String,
        caFile: String,
        now: Date = Date()
    ) throws(PeerTransportError) -> NodeIdentity {
        let chain = try readCertificates(certificateFile, kind: .certificate)
        let roots = try readCertificates(caFile, kind: .caBundle)
        try checkPrivate(privateKeyFile)
        let keyPEM = try readText(privateKeyFile, kind: .privateKey)
        let key: Certificate.PrivateKey
        let nioKey: NIOSSLPrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: keyPEM)
            nioKey = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        } catch {
            throw .notPEM(path: privateKeyFile, kind: .privateKey, detail: "\(error)")
        }
        let leaf = chain[0]
        guard key.publicKey == leaf.publicKey else {
            throw .keyDoesNotMatchCertificate(keyPath: privateKeyFile, certificatePath: certificateFile)
        }
        if now > leaf.notValidAfter {
            throw .certificateExpired(path: certificateFile, notValidAfter: leaf.notValidAfter, now: now)
        }
        if now < leaf.notValidBefore {
            throw .certificateNotYetValid(path: certificateFile, notValidBefore: leaf.notValidBefore, now: now)
        }
        guard CertificateChain.isSigned(chain, byOneOf: roots) else {
            throw .certificateNotSignedByCA(path: certificateFile, caPath: caFile)
        }
        guard let name = leaf.dnsNames.first else { throw .certificateNamesNoNode(path: certificateFile) }
        do {
            return NodeIdentity(
                name: name,
                certificateChain: chain,
                trustRoots: roots,
                nioCertificateChain: try chain.map(nioCertificate),
                nioPrivateKey: nioKey,
                nioTrustRoots: try roots.map(nioCertificate)
            )
        } catch {
            throw .tlsContext(detail: "NIOSSL cannot load the certificates: \(error)")
        }
    }

    /// Refuses a key file that its group or others may read (mode `0o044`): a private key is the owner's alone. A file
    /// that cannot be examined is left to the read, which names the problem.
    static func checkPrivate(_ path: String) throws(PeerTransportError) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let permissions = attributes[.posixPermissions] as? Int
        else { return }
        let mode = UInt16(truncatingIfNeeded: permissions) & 0o7777
        if mode & 0o044 != 0 { throw .keyReadableByOthers(path: path, mode: mode) }
    }

    private static func nioCertificate(_ certificate: Certificate) throws -> NIOSSLCertificate {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
    }

    static func readText(_ path: String, kind: IdentityFileKind) throws(PeerTransportError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let detail = FileManager.default.fileExists(atPath: path) ? "\(error.localizedDescription)" : "no such file"
            throw .fileUnreadable(path: path, kind: kind, detail: detail)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .notPEM(path: path, kind: kind, detail: "the file is not text")
        }
        return text
    }

    static func readCertificates(
        _ path: String,
        kind: IdentityFileKind
    ) throws(PeerTransportError) -> [Certificate] {
        let text = try readText(path, kind: kind)
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw .notPEM(path: path, kind: kind, detail: "\(error)")
        }
        let certificates = documents.filter { $0.discriminator == "CERTIFICATE" }
        guard !certificates.isEmpty else {
            throw .notPEM(path: path, kind: kind, detail: "no BEGIN CERTIFICATE block")
        }
        do {
            return try certificates.map { try Certificate(derEncoded: $0.derBytes) }
        } catch {
            throw .notPEM(path: path, kind: kind, detail: "a certificate does not parse: \(error)")
        }
    }
}

extension NodeIdentity {
    /// This node's certificate (the chain's leaf).
    public var leaf: Certificate { certificateChain[0] }

    /// The end of this node's certificate's validity.
    public var notValidAfter: Date { leaf.notValidAfter }

    /// The end of the validity of the CA this node's chain ends at (nil: no CA).
    public var authorityNotValidAfter: Date? { authority?.notValidAfter }

    /// The CA this node's chain ends at: the trust root that signed its top certificate, else the first root.
    public var authority: Certificate? {
        let top = certificateChain[certificateChain.count - 1]
        return trustRoots.first { $0.subject == top.issuer } ?? trustRoots.first
    }

    /// Whether this node's certificate, or its CA's, is outside its validity window at `now`.
    public func isOutOfWindow(at now: Date) -> Bool {
        ([leaf] + (authority.map { [$0] } ?? [])).contains { now < $0.notValidBefore || now > $0.notValidAfter }
    }
}

extension Certificate {
    /// The DNS names among the subject alternative names (node names), in order; empty if there are none.
    var dnsNames: [String] {
        guard let names = try? extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            if case .dnsName(let dnsName) = name { return dnsName }
            return nil
        }
    }
}
