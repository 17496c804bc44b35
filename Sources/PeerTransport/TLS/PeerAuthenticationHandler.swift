import NIOCore
import NIOSSL
import NIOTLS

/// Sits right after the `NIOSSLHandler`: runs the certificate verification NIOSSL calls back into, and turns the
/// handshake's outcome into an ``AuthenticatedPeer`` or one ``PeerTransportError``.
///
/// A refused peer is refused during the handshake (its certificate is checked before the handshake completes on
/// our side), so no application byte of it reaches the handlers after this one. On a refusal it fails the
/// authentication future, calls `onRefused`, fires the ``PeerTransportError`` down the pipeline and closes the
/// channel. After the handshake it stays in the pipeline to translate TLS errors (for example the alert a server
/// sends when it refuses our certificate after a TLS 1.3 client has finished its handshake) into
/// ``PeerTransportError``s.
final class PeerAuthenticationHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        case handshaking
        case authenticated
        case refused
    }

    private let verifier: PeerCertificateVerifier
    private let onRefused: (@Sendable (PeerTransportError) -> Void)?
    private let promise: EventLoopPromise<AuthenticatedPeer>
    private var state = State.handshaking
    private var verdict: PeerCertificateVerifier.Verdict?
    private var peer = "(unknown address)"

    /// The authentication's outcome.
    var authenticated: EventLoopFuture<AuthenticatedPeer> { promise.futureResult }

    init(
        verifier: PeerCertificateVerifier,
        eventLoop: any EventLoop,
        onRefused: (@Sendable (PeerTransportError) -> Void)?
    ) {
        self.verifier = verifier
        self.onRefused = onRefused
        self.promise = eventLoop.makePromise()
    }

    /// NIOSSL's custom verification callback: verifies the presented chain off the event loop and records the
    /// verdict, which decides the handshake.
    func verify(_ certificates: [NIOSSLCertificate], promise: EventLoopPromise<NIOSSLVerificationResult>) {
        let presented: [[UInt8]]
        do {
            presented = try certificates.map { try $0.toDERBytes() }
        } catch {
            verdict = .refused(.badCertificate("it cannot be read: \(error)"))
            promise.succeed(.failed)
            return
        }
        let verifier = verifier
        promise.futureResult.eventLoop.makeFutureWithTask { await verifier.verify(presented: presented) }
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let verdict):
                    self.verdict = verdict
                    if case .accepted = verdict {
                        promise.succeed(.certificateVerified)
                    } else {
                        promise.succeed(.failed)
                    }
                case .failure(let error):
                    self.verdict = .refused(.badCertificate("verification failed: \(error)"))
                    promise.succeed(.failed)
                }
            }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress.peerDescription
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress.peerDescription
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let expired = event as? AdmissionDeadlineExpired {
            // The listener's admission closes the connection next, and has counted it: no refusal to report.
            let error = PeerTransportError.helloTimeout(peer: peer, reason: expired.reason.rawValue)
            switch state {
            case .handshaking:
                state = .refused
                promise.fail(error)
            case .authenticated:
                context.fireErrorCaught(error)
            case .refused:
                break
            }
            return
        }
        guard case .handshakeCompleted = event as? TLSUserEvent, case .handshaking = state else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Fail closed: a completed handshake without our accepting verdict is a refusal.
        guard case .accepted(let name, let datesFault) = verdict else {
            let error = PeerTransportError.handshakeFailed(
                peer: peer,
                detail: "the handshake completed without certificate verification"
            )
            refuse(error)
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        state = .authenticated
        let authenticatedPeer = AuthenticatedPeer(
            name: name,
            address: peer,
            certificateFault: datesFault?.error(peer: peer, expected: verifier.acceptedNames)
        )
        promise.succeed(authenticatedPeer)
        context.fireUserInboundEventTriggered(event)
        context.fireUserInboundEventTriggered(authenticatedPeer)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // NIOSSL passes no application data before its handshake completed; drop it anyway unless authenticated.
        guard case .authenticated = state else { return }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let classified = TLSErrorClassifier.classify(error, peer: peer, verification: verificationError)
        else {
            context.fireErrorCaught(error)
            return
        }
        switch state {
        case .handshaking:
            refuse(classified)
            context.fireErrorCaught(classified)
            context.close(promise: nil)
        case .authenticated:
            context.fireErrorCaught(classified)
        case .refused:
            // The first refusal was reported; what NIOSSL says while the connection closes adds nothing.
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .handshaking = state {
            let error = PeerTransportError.handshakeFailed(
                peer: peer,
                detail: "the connection closed during the handshake"
            )
            refuse(error)
            context.fireErrorCaught(error)
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if case .handshaking = state {
            state = .refused
            promise.fail(
                PeerTransportError.handshakeFailed(peer: peer, detail: "the TLS handlers left the pipeline")
            )
        }
    }

    private var verificationError: PeerTransportError? {
        guard case .refused(let refusal) = verdict else { return nil }
        return refusal.error(peer: peer, expected: verifier.acceptedNames)
    }

    private func refuse(_ error: PeerTransportError) {
        guard case .handshaking = state else { return }
        state = .refused
        promise.fail(error)
        onRefused?(error)
    }
}
