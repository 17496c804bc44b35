import Foundation
import SwiftASN1
import X509

/// Decides whether a peer's presented certificate chain is one of ours, and which node it names.
///
/// The chain must build to one of the trust roots under RFC 5280 (swift-certificates' `Verifier`), the leaf must
/// allow the TLS role the peer plays (extended key usage), and one of its DNS names must be an accepted node name.
/// When the chain fails, its signatures and dates are checked one by one to tell an unknown CA from an expired
/// certificate.
struct PeerCertificateVerifier: Sendable {
    /// What a refused chain lacked.
    enum Refusal: Sendable, Equatable {
        case noCertificate
        case unknownCA(issuer: String)
        case expired(notValidAfter: Date)
        case notYetValid(notValidBefore: Date)
        case badCertificate(String)
        case wrongIdentity(presented: [String])
    }

    /// The outcome of a verification.
    enum Verdict: Sendable, Equatable {
        case accepted(name: String)
        case refused(Refusal)
    }

    let roots: [Certificate]
    let acceptedNames: Set<String>
    /// serverAuth when we verify a server (we dialed), clientAuth when we verify a client (it dialed us).
    let requiredUsage: ExtendedKeyUsage.Usage

    /// Verifies a chain given as DER certificates, leaf first, as the peer presented it.
    func verify(presented: [[UInt8]]) async -> Verdict {
        guard !presented.isEmpty else { return .refused(.noCertificate) }
        let chain: [Certificate]
        do {
            chain = try presented.map { try Certificate(derEncoded: $0) }
        } catch {
            return .refused(.badCertificate("it does not parse: \(error)"))
        }
        let leaf = chain[0]
        let intermediates = CertificateStore(chain.dropFirst())
        // Validated at the current time: swift-certificates offers a fixed validation time only behind an SPI.
        let usage = UsagePolicy(required: requiredUsage)
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy()
            usage
        }
        switch await verifier.validate(leaf: leaf, intermediates: intermediates) {
        case .validCertificate:
            break
        case .couldNotValidate(let failures):
            return .refused(diagnose(chain, now: Date(), failures: failures))
        }
        let names = leaf.dnsNames
        guard let name = names.first(where: acceptedNames.contains) else {
            return .refused(.wrongIdentity(presented: names))
        }
        return .accepted(name: name)
    }

    /// Why a chain failed: not signed by our CA, out of its validity window, or another policy.
    private func diagnose(
        _ chain: [Certificate],
        now: Date,
        failures: [CertificateValidationResult.PolicyFailure]
    ) -> Refusal {
        guard CertificateChain.isSigned(chain, byOneOf: roots) else {
            return .unknownCA(issuer: chain[chain.count - 1].issuer.description)
        }
        // Ours: report the certificate out of its validity window (leaf first, then the CA), else the policy.
        let rootsInUse = roots.filter { root in chain.contains { $0.issuer == root.subject } || chain.contains(root) }
        for certificate in chain + rootsInUse {
            if now > certificate.notValidAfter { return .expired(notValidAfter: certificate.notValidAfter) }
            if now < certificate.notValidBefore { return .notYetValid(notValidBefore: certificate.notValidBefore) }
        }
        let reason = failures.first.map { "\($0.policyFailureReason)" }
        return .badCertificate(reason ?? "it has an unsupported critical extension")
    }
}

/// The leaf must carry an extended key usage that allows its TLS role.
private struct UsagePolicy: VerifierPolicy {
    let required: ExtendedKeyUsage.Usage
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let required = required
        guard let usages = try? chain.leaf.extensions.extendedKeyUsage else {
            return .failsToMeetPolicy(reason: "the certificate has no extended key usage (\(required) is required)")
        }
        guard usages.contains(required) else {
            return .failsToMeetPolicy(reason: "the certificate's extended key usage \(usages) lacks \(required)")
        }
        return .meetsPolicy
    }
}

extension PeerCertificateVerifier.Refusal {
    /// The refusal as the module's error, naming the peer.
    func error(peer: String, expected: Set<String>) -> PeerTransportError {
        switch self {
        case .noCertificate: .noCertificate(peer: peer)
        case .unknownCA(let issuer): .unknownCA(peer: peer, issuer: issuer)
        case .expired(let date): .peerCertificateExpired(peer: peer, notValidAfter: date)
        case .notYetValid(let date): .peerCertificateNotYetValid(peer: peer, notValidBefore: date)
        case .badCertificate(let detail): .badCertificate(peer: peer, detail: detail)
        case .wrongIdentity(let presented):
            .wrongIdentity(peer: peer, presented: presented, expected: expected.sorted())
        }
    }
}
