import Foundation
import SwiftASN1
import X509

/// What `lvsync certs show` prints about a certificate file: its subject and node names, issuer, validity window,
/// days left and, given a CA bundle, whether it chains to it.
public struct CertificateSummary: Sendable, Equatable {
    /// The file read.
    public let path: String
    /// The subject, e.g. `CN=dira`.
    public let subject: String
    /// The DNS names among its subject alternative names (the node names).
    public let dnsNames: [String]
    /// The issuer, e.g. `CN=lvsync CA`.
    public let issuer: String
    /// The start of its validity.
    public let notValidBefore: Date
    /// The end of its validity.
    public let notValidAfter: Date
    /// Whole days left at the time it was read (negative once expired).
    public let daysLeft: Int
    /// Whether it chains to the CA bundle given (nil: none given).
    public let chainsToCA: Bool?

    /// Reads the first certificate of the PEM file at `path`; with `caFile`, checks that its chain (the rest of the
    /// file) is signed by a CA of that bundle.
    public static func read(path: String, caFile: String? = nil, now: Date = Date()) throws(PeerTransportError) -> Self
    {
        let chain = try NodeIdentity.readCertificates(path, kind: .certificate)
        let roots = try caFile.map { file throws(PeerTransportError) in
            try NodeIdentity.readCertificates(file, kind: .caBundle)
        }
        let leaf = chain[0]
        return CertificateSummary(
            path: path,
            subject: leaf.subject.description,
            dnsNames: leaf.dnsNames,
            issuer: leaf.issuer.description,
            notValidBefore: leaf.notValidBefore,
            notValidAfter: leaf.notValidAfter,
            daysLeft: CertificateExpiry.daysLeft(notValidAfter: leaf.notValidAfter, now: now),
            chainsToCA: roots.map { CertificateChain.isSigned(chain, byOneOf: $0) }
        )
    }

    /// The summary as lines `key: value`.
    public var lines: [String] {
        var lines = [
            "file: \(path)",
            "subject: \(subject)",
            "dns names: \(dnsNames.isEmpty ? "(none)" : dnsNames.joined(separator: ", "))",
            "issuer: \(issuer)",
            "not before: \(notValidBefore.formatted(.iso8601))",
            "not after: \(notValidAfter.formatted(.iso8601))",
            "days left: \(daysLeft)" + (daysLeft < 0 ? " (expired)" : ""),
        ]
        if let chainsToCA { lines.append("chains to the CA: \(chainsToCA ? "yes" : "no")") }
        return lines
    }
}
