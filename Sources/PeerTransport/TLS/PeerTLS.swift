import Foundation
import NIOCore
import NIOSSL
import X509

/// Mutually authenticated TLS between the two directors: TLS 1.3 only, this node's certificate, the private CA as
/// the only trust root, and the peer's node name checked against the one(s) we expect.
///
/// Build it once from the ``NodeIdentity``; then, in a `childChannelInitializer` (listener) or `channelInitializer`
/// (dialer), add the handlers to the new channel's pipeline before the framing:
///
/// ```swift
/// let authenticated = try tls.addServerHandlers(to: channel.pipeline.syncOperations, acceptedPeers: ["dirb"]) {
///     refusal in logger.warning("\(refusal)", metadata: ["reason": "\(refusal.reason)"])
/// }
/// ```
///
/// Nothing of a refused peer reaches the handlers added after these: the peer's certificate is verified during the
/// handshake (our own callback, so the refusal names the precise reason), and the identity with it.
public struct PeerTLS: Sendable {
    /// What to do with a peer whose certificate's only fault is its validity window.
    public enum OutOfWindowPeers: Sendable, Equatable {
        /// Refuse it as `expired` or `not_yet_valid` (the default).
        case refuse
        /// Accept it, with the fault in ``AuthenticatedPeer/certificateFault``: the caller decides what such a link
        /// may carry. Only a chain that passes every other check (our CA's signature, key usage, an accepted node
        /// name) at a time inside its windows is accepted so.
        case acceptDegraded
    }

    /// This node's identity.
    public let identity: NodeIdentity
    /// What is done with a peer whose certificate is valid but for its dates.
    public let outOfWindowPeers: OutOfWindowPeers
    private let server: NIOSSLContext
    private let client: NIOSSLContext

    /// Builds the server and client TLS contexts for `identity`. Peer certificates are checked at the current time.
    public init(identity: NodeIdentity, outOfWindowPeers: OutOfWindowPeers = .refuse) throws(PeerTransportError) {
        self.identity = identity
        self.outOfWindowPeers = outOfWindowPeers
        let chain = identity.nioCertificateChain.map(NIOSSLCertificateSource.certificate)
        let key = NIOSSLPrivateKeySource.privateKey(identity.nioPrivateKey)
        let roots = NIOSSLTrustRoots.certificates(identity.nioTrustRoots)

        var serverConfiguration = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain,
            privateKey: key,
            trustRoots: roots
        )
        var clientConfiguration = TLSConfiguration.makeClientConfiguration()
        clientConfiguration.certificateChain = chain
        clientConfiguration.privateKey = key
        clientConfiguration.trustRoots = roots
        Self.restrict(&serverConfiguration)
        Self.restrict(&clientConfiguration)
        do {
            server = try NIOSSLContext(configuration: serverConfiguration)
            client = try NIOSSLContext(configuration: clientConfiguration)
        } catch {
            throw .tlsContext(detail: "\(error)")
        }
    }

    /// TLS 1.3 only, the peer's certificate required and verified (by our callback; hostnames are not used: the
    /// node name is checked instead), our CA the only root, no renegotiation.
    private static func restrict(_ configuration: inout TLSConfiguration) {
        configuration.minimumTLSVersion = .tlsv13
        configuration.maximumTLSVersion = .tlsv13
        configuration.certificateVerification = .noHostnameVerification
        configuration.additionalTrustRoots = []
        configuration.renegotiationSupport = .none
    }

    /// The server (listener) context: TLS 1.3 only, client certificates required.
    public func serverContext() -> NIOSSLContext { server }

    /// The client (dialer) context: TLS 1.3 only, presents this node's certificate.
    public func clientContext() -> NIOSSLContext { client }

    /// Adds the listener side's handlers to an accepted channel's pipeline (call it on the channel's event loop,
    /// e.g. in `childChannelInitializer`): a plaintext detector, the TLS server handler and the authentication.
    ///
    /// - Parameters:
    ///   - acceptedPeers: the node names a client's certificate may carry.
    ///   - onRefused: called once, on the event loop, with the reason a refused client was refused.
    /// - Returns: the authenticated peer once the handshake completed; fails with the ``PeerTransportError``.
    @discardableResult
    public func addServerHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations,
        acceptedPeers: Set<String>,
        onRefused: (@Sendable (PeerTransportError) -> Void)? = nil
    ) throws -> EventLoopFuture<AuthenticatedPeer> {
        let authentication = PeerAuthenticationHandler(
            verifier: verifier(accepting: acceptedPeers, usage: .clientAuth),
            eventLoop: pipeline.eventLoop,
            onRefused: onRefused
        )
        let tls = NIOSSLServerHandler(
            context: server,
            customVerificationCallback: { certificates, promise in
                authentication.verify(certificates, promise: promise)
            }
        )
        try pipeline.addHandlers([TLSRecordSniffer(), tls, authentication])
        return authentication.authenticated
    }

    /// Adds the dialer side's handlers to a new channel's pipeline (call it on the channel's event loop, e.g. in
    /// `channelInitializer`): the TLS client handler and the authentication.
    ///
    /// - Parameter expectedPeer: the node we dial; the server's certificate must carry this name.
    /// - Returns: the authenticated peer once the handshake completed; fails with the ``PeerTransportError``.
    ///   In TLS 1.3 the client's handshake completes before the server has checked the client's certificate: a
    ///   server that refuses us closes the connection with an alert just after, which reaches the pipeline as
    ///   ``PeerTransportError/rejectedByPeer(peer:alert:)``.
    @discardableResult
    public func addClientHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations,
        expectedPeer: String
    ) throws -> EventLoopFuture<AuthenticatedPeer> {
        let authentication = PeerAuthenticationHandler(
            verifier: verifier(accepting: [expectedPeer], usage: .serverAuth),
            eventLoop: pipeline.eventLoop,
            onRefused: nil
        )
        let tls = try NIOSSLClientHandler(
            context: client,
            serverHostname: nil,
            customVerificationCallback: { certificates, promise in
                authentication.verify(certificates, promise: promise)
            }
        )
        try pipeline.addHandlers([tls, authentication])
        return authentication.authenticated
    }

    private func verifier(accepting names: Set<String>, usage: ExtendedKeyUsage.Usage) -> PeerCertificateVerifier {
        var verifier = PeerCertificateVerifier(roots: identity.trustRoots, acceptedNames: names, requiredUsage: usage)
        verifier.acceptsDatesOnlyFaults = outOfWindowPeers == .acceptDegraded
        return verifier
    }
}
