import Foundation
import NIOSSL

/// Maps NIOSSL's and BoringSSL's errors to ``PeerTransportError``s, by BoringSSL's reason names
/// (`WRONG_VERSION_NUMBER`, `TLSV1_ALERT_UNKNOWN_CA`, ...), as precisely as BoringSSL reports them.
///
/// The side that verifies a certificate learns only `CERTIFICATE_VERIFY_FAILED` from BoringSSL; the precise reason
/// (unknown CA, expired, wrong identity) comes from our own verification callback, passed in as `verification`. The
/// refused side learns only the alert BoringSSL sent back, and with a custom verification callback that is always
/// `certificate_unknown`, whatever the reason was.
enum TLSErrorClassifier {
    /// The module's error for a TLS error; `nil` for an error that is not about TLS.
    static func classify(
        _ error: any Error,
        peer: String,
        verification: PeerTransportError?
    ) -> PeerTransportError? {
        switch error {
        case let error as PeerTransportError:
            return error
        case NIOSSLError.handshakeFailed(let boringSSLError):
            return classify(reasons: reasonNames(boringSSLError), peer: peer, verification: verification)
        case let boringSSLError as BoringSSLError:
            return classify(reasons: reasonNames(boringSSLError), peer: peer, verification: verification)
        case NIOSSLError.noCertificateToValidate:
            return .noCertificate(peer: peer)
        default:
            return nil
        }
    }

    private static func classify(
        reasons: [String],
        peer: String,
        verification: PeerTransportError?
    ) -> PeerTransportError {
        let notTLS: Set = ["WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST"]
        if reasons.contains(where: notTLS.contains) { return .notTLS(peer: peer) }
        if reasons.contains("UNSUPPORTED_PROTOCOL") || reasons.contains("TLSV1_ALERT_PROTOCOL_VERSION") {
            return .tlsVersion(peer: peer)
        }
        if reasons.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") { return .noCertificate(peer: peer) }
        if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
            return verification ?? .handshakeFailed(peer: peer, detail: "certificate verification failed")
        }
        if let alert = reasons.first(where: isReceivedAlert) {
            return .rejectedByPeer(peer: peer, alert: alertName(alert))
        }
        if reasons.contains(where: { $0.hasPrefix("EOF during") }) {
            return .handshakeFailed(peer: peer, detail: "the connection closed during the handshake")
        }
        let detail = reasons.isEmpty ? "no reason given" : reasons.joined(separator: ", ")
        return .handshakeFailed(peer: peer, detail: detail)
    }

    /// The reason names on BoringSSL's error stack, e.g. `CERTIFICATE_VERIFY_FAILED`, or NIOSSL's synthetic
    /// descriptions (`EOF during handshake`).
    static func reasonNames(_ error: BoringSSLError) -> [String] {
        switch error {
        case .sslError(let stack), .unknownError(let stack), .invalidSNIName(let stack), .failedToSetALPN(let stack):
            return stack.map { reasonName(String(describing: $0)) }
        case .zeroReturn:
            return ["EOF during handshake"]
        case .syscallError:
            return ["the connection failed (syscall error)"]
        default:
            return ["\(error)"]
        }
    }

    /// `Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at file:line`
    /// → `CERTIFICATE_VERIFY_FAILED`; a synthetic description (`Error:  EOF during handshake`) → the text.
    private static func reasonName(_ description: String) -> String {
        if let internalRange = description.range(of: "OPENSSL_internal:") {
            let rest = description[internalRange.upperBound...]
            return String(rest.prefix { $0 != " " })
        }
        if let errorRange = description.range(of: "Error: ") {
            return description[errorRange.upperBound...].trimmingCharacters(in: .whitespaces)
        }
        return description
    }

    /// BoringSSL names a received alert `SSLV3_ALERT_*`, `TLSV1_ALERT_*` or (TLS 1.3) `TLSV1_CERTIFICATE_REQUIRED`.
    private static func isReceivedAlert(_ reason: String) -> Bool {
        reason.hasPrefix("SSLV3_ALERT_") || reason.hasPrefix("TLSV1_ALERT_") || reason == "TLSV1_CERTIFICATE_REQUIRED"
    }

    /// `SSLV3_ALERT_CERTIFICATE_UNKNOWN` → `certificate_unknown`, the alert's name in RFC 8446.
    private static func alertName(_ reason: String) -> String {
        var name = Substring(reason)
        for prefix in ["SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV1_"] where name.hasPrefix(prefix) {
            name = name.dropFirst(prefix.count)
            break
        }
        return name.lowercased()
    }
}
