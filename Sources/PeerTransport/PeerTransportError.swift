import Foundation

/// Everything that can go wrong in the peer transport: loading this node's identity, writing a certificate
/// authority, and refusing (or being refused by) a peer.
///
/// ``description`` is a sentence for a log line or a terminal; ``reason`` is a short, stable code for a log field or
/// a counter label (`unknown_ca`, `expired`, `wrong_identity`, `not_tls`, ...).
public enum PeerTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: This node's identity files

    /// An identity file (certificate, key or CA bundle) does not exist or cannot be read.
    case fileUnreadable(path: String, kind: IdentityFileKind, detail: String)
    /// The private key file may be read by its group or by others (its permission bits, e.g. `0o644`).
    case keyReadableByOthers(path: String, mode: UInt16)
    /// An identity file holds no PEM document of the expected kind, or one that does not parse.
    case notPEM(path: String, kind: IdentityFileKind, detail: String)
    /// The private key is not the key of the certificate's public key.
    case keyDoesNotMatchCertificate(keyPath: String, certificatePath: String)
    /// This node's certificate has expired.
    case certificateExpired(path: String, notValidAfter: Date, now: Date)
    /// This node's certificate is not valid yet.
    case certificateNotYetValid(path: String, notValidBefore: Date, now: Date)
    /// This node's certificate is not signed by any certificate authority in the CA bundle.
    case certificateNotSignedByCA(path: String, caPath: String)
    /// This node's certificate has no DNS name in its subject alternative names, so it names no node.
    case certificateNamesNoNode(path: String)
    /// NIOSSL refused to build a TLS context from the identity.
    case tlsContext(detail: String)

    // MARK: Writing a certificate authority

    /// A node name cannot be used in a certificate (it must be a DNS label: letters, digits, `-`, `.`).
    case invalidNodeName(String)
    /// The file exists and `--force` was not given.
    case fileExists(path: String)
    /// A file or directory could not be written.
    case cannotWrite(path: String, detail: String)
    /// A certificate could not be built or signed.
    case cannotIssue(subject: String, detail: String)

    // MARK: Peers

    /// The peer's certificate does not chain to our certificate authority.
    case unknownCA(peer: String, issuer: String)
    /// The peer's certificate chains to our CA but has expired.
    case peerCertificateExpired(peer: String, notValidAfter: Date)
    /// The peer's certificate chains to our CA but is not valid yet.
    case peerCertificateNotYetValid(peer: String, notValidBefore: Date)
    /// The peer's certificate is valid but names another node than the one(s) we accept.
    case wrongIdentity(peer: String, presented: [String], expected: [String])
    /// The peer's certificate chains to our CA but breaks another rule (key usage, basic constraints, ...).
    case badCertificate(peer: String, detail: String)
    /// The peer presented no certificate.
    case noCertificate(peer: String)
    /// The peer does not speak TLS at all (plaintext bytes where a TLS record was due).
    case notTLS(peer: String)
    /// The peer does not speak TLS 1.3.
    case tlsVersion(peer: String)
    /// The peer refused us: it sent a TLS alert (our certificate or identity was not good enough for it).
    case rejectedByPeer(peer: String, alert: String)
    /// The TLS handshake failed for another reason (the connection closed, no shared cipher, ...).
    case handshakeFailed(peer: String, detail: String)
    /// The peer announced a frame larger than the limit.
    case frameTooLarge(peer: String, size: Int, limit: Int)
    /// The peer sent bytes that are not a valid frame.
    case garbage(peer: String, detail: String)
    /// The connection did not finish its TLS handshake and its hello by the listener's deadline (`reason` is the
    /// ``ShedReason``'s label, `hello_timeout`).
    case helloTimeout(peer: String, reason: String)

    /// A short, stable code for this error: a log field and a counter label.
    public var reason: String {
        switch self {
        case .fileUnreadable: "identity_file_unreadable"
        case .notPEM: "identity_not_pem"
        case .keyReadableByOthers: "key_readable_by_others"
        case .keyDoesNotMatchCertificate: "key_mismatch"
        case .certificateExpired: "identity_expired"
        case .certificateNotYetValid: "identity_not_yet_valid"
        case .certificateNotSignedByCA: "identity_not_signed_by_ca"
        case .certificateNamesNoNode: "identity_no_node_name"
        case .tlsContext: "tls_context"
        case .invalidNodeName: "invalid_node_name"
        case .fileExists: "file_exists"
        case .cannotWrite: "cannot_write"
        case .cannotIssue: "cannot_issue"
        case .unknownCA: "unknown_ca"
        case .peerCertificateExpired: "expired"
        case .peerCertificateNotYetValid: "not_yet_valid"
        case .wrongIdentity: "wrong_identity"
        case .badCertificate: "bad_certificate"
        case .noCertificate: "no_certificate"
        case .notTLS: "not_tls"
        case .tlsVersion: "tls_version"
        case .rejectedByPeer: "rejected_by_peer"
        case .handshakeFailed: "handshake_failed"
        case .frameTooLarge: "frame_too_large"
        case .garbage: "garbage"
        case .helloTimeout(_, let reason): reason
        }
    }

    /// The peer's address (`192.0.2.1:7420`, `[2001:db8::1]:7420`) for errors about a peer; `nil` otherwise.
    public var peer: String? {
        switch self {
        case .unknownCA(let peer, _), .peerCertificateExpired(let peer, _), .peerCertificateNotYetValid(let peer, _),
            .wrongIdentity(let peer, _, _), .badCertificate(let peer, _), .noCertificate(let peer),
            .notTLS(let peer), .tlsVersion(let peer), .rejectedByPeer(let peer, _), .handshakeFailed(let peer, _),
            .frameTooLarge(let peer, _, _), .garbage(let peer, _), .helloTimeout(let peer, _):
            peer
        default:
            nil
        }
    }

    /// The error as one sentence.
    public var description: String {
        switch self {
        case .fileUnreadable(let path, let kind, let detail):
            "\(path): cannot read the \(kind) (\(detail))"
        case .notPEM(let path, let kind, let detail):
            "\(path): not a PEM \(kind) (\(detail))"
        case .keyReadableByOthers(let path, let mode):
            "\(path) is readable by group/others (mode \(Self.octal(mode))): chmod 600 \(path)"
        case .keyDoesNotMatchCertificate(let keyPath, let certificatePath):
            "\(keyPath): this private key is not the key of the certificate in \(certificatePath)"
        case .certificateExpired(let path, let notValidAfter, let now):
            "\(path): the certificate expired on \(Self.format(notValidAfter)) (now: \(Self.format(now)))"
        case .certificateNotYetValid(let path, let notValidBefore, let now):
            "\(path): the certificate is not valid before \(Self.format(notValidBefore)) (now: \(Self.format(now)))"
        case .certificateNotSignedByCA(let path, let caPath):
            "\(path): the certificate is not signed by the certificate authority in \(caPath)"
        case .certificateNamesNoNode(let path):
            "\(path): the certificate has no DNS name in its subject alternative names, so it names no node"
        case .tlsContext(let detail):
            "cannot build the TLS context: \(detail)"
        case .invalidNodeName(let name):
            "'\(name)' cannot be a node name: use letters, digits, '-' and '.' (a DNS name), at most 253 characters"
        case .fileExists(let path):
            "\(path) exists; pass --force to overwrite it"
        case .cannotWrite(let path, let detail):
            "\(path): cannot write (\(detail))"
        case .cannotIssue(let subject, let detail):
            "cannot issue the certificate for \(subject): \(detail)"
        case .unknownCA(let peer, let issuer):
            "peer \(peer) refused: its certificate is not signed by our certificate authority (issuer: \(issuer))"
        case .peerCertificateExpired(let peer, let notValidAfter):
            "peer \(peer) refused: its certificate expired on \(Self.format(notValidAfter))"
        case .peerCertificateNotYetValid(let peer, let notValidBefore):
            "peer \(peer) refused: its certificate is not valid before \(Self.format(notValidBefore))"
        case .wrongIdentity(let peer, let presented, let expected):
            "peer \(peer) refused: its certificate names \(Self.list(presented)), "
                + "but we accept only \(Self.list(expected)) there"
        case .badCertificate(let peer, let detail):
            "peer \(peer) refused: its certificate is not acceptable (\(detail))"
        case .noCertificate(let peer):
            "peer \(peer) refused: it presented no certificate"
        case .notTLS(let peer):
            "peer \(peer) refused: it does not speak TLS (plaintext where a TLS handshake was due)"
        case .tlsVersion(let peer):
            "peer \(peer) refused: it does not speak TLS 1.3"
        case .rejectedByPeer(let peer, let alert):
            "peer \(peer) refused this node: it ended the handshake with the TLS alert '\(alert)'"
        case .handshakeFailed(let peer, let detail):
            "peer \(peer): the TLS handshake failed (\(detail))"
        case .frameTooLarge(let peer, let size, let limit):
            "peer \(peer) refused: it announced a frame of \(size) bytes, the limit is \(limit)"
        case .garbage(let peer, let detail):
            "peer \(peer) refused: it sent bytes that are not a frame (\(detail))"
        case .helloTimeout(let peer, _):
            "peer \(peer) closed: it did not finish its TLS handshake and hello in time"
        }
    }

    private static func octal(_ mode: UInt16) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "no node" : names.map { "'\($0)'" }.joined(separator: ", ")
    }
}

/// Which of a node's identity files an error is about.
public enum IdentityFileKind: String, Sendable, Equatable, CustomStringConvertible {
    /// The node's certificate (chain), leaf first.
    case certificate = "certificate"
    /// The node's private key.
    case privateKey = "private key"
    /// The certificate authority bundle that peers' certificates must chain to.
    case caBundle = "CA bundle"

    /// The kind as words: `certificate`, `private key`, `CA bundle`.
    public var description: String { rawValue }
}
