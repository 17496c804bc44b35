/// A peer whose certificate chains to our CA, is valid now and names a node we accept.
///
/// Fired as a user inbound event once the TLS handshake has completed, and the value of the future that
/// ``PeerTLS/addServerHandlers(to:acceptedPeers:onRefused:)`` and ``PeerTLS/addClientHandlers(to:expectedPeer:)``
/// return.
public struct AuthenticatedPeer: Sendable, Equatable, CustomStringConvertible {
    /// The node name its certificate carries (a DNS subject alternative name), e.g. `dirb`.
    public let name: String
    /// Its address, `192.0.2.2:7420` or `[2001:db8::2]:7420`.
    public let address: String
    /// Set when the peer was accepted although its certificate (or the CA's) is out of its validity window — the only
    /// fault it has: ``PeerTransportError/peerCertificateExpired(peer:notValidAfter:)`` or
    /// ``PeerTransportError/peerCertificateNotYetValid(peer:notValidBefore:)``. Only a ``PeerTLS`` made with
    /// ``PeerTLS/OutOfWindowPeers/acceptDegraded`` accepts such a peer.
    public let certificateFault: PeerTransportError?

    /// A peer by its name and address, with the fault its certificate was accepted with (nil: none).
    public init(name: String, address: String, certificateFault: PeerTransportError? = nil) {
        self.name = name
        self.address = address
        self.certificateFault = certificateFault
    }

    /// `dirb (192.0.2.2:7420)`.
    public var description: String { "\(name) (\(address))" }
}
