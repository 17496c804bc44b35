import Foundation
import SwiftASN1
@_spi(DisableValidityCheck) import X509

/// Decides whether a peer's presented certificate chain is one of ours, and which node it names.
///
/// The chain must build to one of the trust roots under RFC 5280 (swift-certificates' `Verifier`), the leaf must
/// allow the TLS role the peer plays (extended key usage), and one of its DNS names must be an accepted node name.
/// When the chain fails, its signatures and dates are checked one by one to tell an unknown CA from an expired
/// certificate.
///
/// With ``acceptsDatesOnlyFaults`` a chain whose only fault is a validity window (expired or not yet valid, the leaf
/// or the CA) is accepted all the same, with the fault beside the name: it passes every other check (signatures up to
/// our CA, basic constraints, key usage, a node name we accept) with the validity check alone left out. The holder of
/// such a certificate holds a key our CA signed for that node: it is the peer, with a certificate out of date.
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
        /// Accepted as node `name`; `datesFault` is the validity-window fault it was accepted with (nil: none).
        case accepted(name: String, datesFault: Refusal?)
        case refused(Refusal)
    }

    let roots: [Certificate]
    let acceptedNames: Set<String>
    /// serverAuth when we verify a server (we dialed), clientAuth when we verify a client (it dialed us).
    let requiredUsage: ExtendedKeyUsage.Usage
    /// Whether a chain whose only fault is its validity window is accepted (with the fault) rather than refused.
    var acceptsDatesOnlyFaults = false

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
        let usage = UsagePolicy(required: requiredUsage)
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy()
            usage
        }
        var datesFault: Refusal?
        switch await verifier.validate(leaf: leaf, intermediates: intermediates) {
        case .validCertificate:
            break
        case .couldNotValidate(let failures):
            let now = Date()
            let refusal = diagnose(chain, now: now, failures: failures)
            guard acceptsDatesOnlyFaults, refusal.isDatesOnly,
                await validatesApartFromDates(chain, intermediates: intermediates, usage: usage)
            else { return .refused(refusal) }
            datesFault = refusal
        }
        let names = leaf.dnsNames
        guard let name = names.first(where: acceptedNames.contains) else {
            return .refused(.wrongIdentity(presented: names))
        }
        return .accepted(name: name, datesFault: datesFault)
    }

    /// Whether the chain passes every check of RFC 5280 and the usage policy but the validity windows' (swift-
    /// certificates' RFC 5280 policy with its expiry check alone disabled).
    private func validatesApartFromDates(
        _ chain: [Certificate],
        intermediates: CertificateStore,
        usage: UsagePolicy
    ) async -> Bool {
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy.withValidityCheckDisabled()
            usage
        }
        if case .validCertificate = await verifier.validate(leaf: chain[0], intermediates: intermediates) {
            return true
        }
        return false
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
    /// Whether the refusal is about a validity window only (expired, not yet valid).
    var isDatesOnly: Bool {
        switch self {
        case .expired, .notYetValid: true
        default: false
        }
    }

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
