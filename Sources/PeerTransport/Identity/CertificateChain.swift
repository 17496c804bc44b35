import X509

/// Signature checks on a presented chain, without any policy: for diagnosis (which CA signed it?).
enum CertificateChain {
    /// Whether each certificate of `chain` is signed by the next and the last is one of `roots` or signed by one.
    static func isSigned(_ chain: [Certificate], byOneOf roots: [Certificate]) -> Bool {
        guard let top = chain.last else { return false }
        for (certificate, issuer) in zip(chain, chain.dropFirst()) where !isSigned(certificate, by: issuer) {
            return false
        }
        return roots.contains { root in root == top || isSigned(top, by: root) }
    }

    private static func isSigned(_ certificate: Certificate, by issuer: Certificate) -> Bool {
        certificate.issuer == issuer.subject
            && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
    }
}
