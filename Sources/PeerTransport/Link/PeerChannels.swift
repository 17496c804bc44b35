import NIOCore
import NIOPosix
import PeerProtocol

/// An authenticated peer link: the peer's proven identity and a channel of peer protocol messages.
public struct PeerConnection: Sendable {
    /// Who the peer is, by its certificate.
    public let peer: AuthenticatedPeer
    /// The messages, framed and TLS-protected.
    public let channel: NIOAsyncChannel<PeerMessage, PeerMessage>
    /// The listener's admission of this connection (nil for a dialled one).
    let admission: AdmissionTicket?

    /// Tells the listener's admission control that the peer said hello: the connection no longer counts as pending,
    /// and its deadline (TLS handshake and hello together) is cancelled. A listener's connection that never calls it
    /// is closed at the deadline. Nothing for a dialled connection.
    public func saidHello() {
        admission?.proven()
    }
}

/// A connection accepted by a ``PeerListener`` whose TLS handshake and identity check are still under way.
public struct PendingPeerConnection: Sendable {
    let authenticated: EventLoopFuture<AuthenticatedPeer>
    let channel: NIOAsyncChannel<PeerMessage, PeerMessage>
    let admission: AdmissionTicket?

    /// Waits for the handshake and the identity check, closing the connection when they take longer than
    /// `timeout` (a client that connects and says nothing holds nothing for long). A connection a listener admitted
    /// under a ``ConnectionAdmission`` is bounded by its admission deadline instead (the handshake and the hello
    /// together), and `timeout` is not used.
    /// - Throws: ``PeerTransportError`` (or the transport's error) when the peer is refused; the channel is closed.
    public func authenticate(timeout: TimeAmount = .seconds(10)) async throws -> PeerConnection {
        let transport = channel.channel
        if admission == nil {
            let deadline = transport.eventLoop.scheduleTask(in: timeout) { transport.close(promise: nil) }
            authenticated.whenComplete { _ in deadline.cancel() }
        }
        do {
            return PeerConnection(peer: try await authenticated.get(), channel: channel, admission: admission)
        } catch {
            try? await transport.close()
            throw error
        }
    }
}

/// The peer link's listener: mutual TLS 1.3 with the identity check, then length-prefixed peer frames. There is no
/// plaintext path: a connection is TLS from its first byte or refused.
public enum PeerListener {
    /// Binds the listener.
    /// - Parameters:
    ///   - acceptedPeers: the node names whose certificates are let in.
    ///   - admission: caps on connections that have not said hello yet, and the deadline for it (nil: none, and a
    ///     10 s deadline on the handshake alone). A connection over a cap is closed before any TLS work is done for
    ///     it; the caller must call ``PeerConnection/saidHello()`` when the peer's hello arrives.
    ///   - onRefused: told of every refused connection (for a log line and a counter).
    public static func bind(
        host: String,
        port: Int,
        tls: PeerTLS,
        acceptedPeers: Set<String>,
        maximumFrameLength: Int = PeerFraming.defaultMaximumFrameLength,
        admission: ConnectionAdmission? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onRefused: @escaping @Sendable (PeerTransportError) -> Void
    ) async throws -> NIOAsyncChannel<PendingPeerConnection, Never> {
        try await bind(
            host: host,
            port: port,
            tls: PeerTLSStore(tls),
            acceptedPeers: acceptedPeers,
            maximumFrameLength: maximumFrameLength,
            admission: admission,
            group: group,
            onRefused: onRefused
        )
    }

    /// Binds the listener with swappable TLS material: each accepted connection uses the store's
    /// ``PeerTLSStore/current`` material as of its accept (a replacement applies to the connections accepted after it).
    public static func bind(
        host: String,
        port: Int,
        tls store: PeerTLSStore,
        acceptedPeers: Set<String>,
        maximumFrameLength: Int = PeerFraming.defaultMaximumFrameLength,
        admission: ConnectionAdmission? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onRefused: @escaping @Sendable (PeerTransportError) -> Void
    ) async throws -> NIOAsyncChannel<PendingPeerConnection, Never> {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The caps come first: a connection over one costs its socket and nothing more.
                    var ticket: AdmissionTicket?
                    if let admission {
                        guard let admitted = admission.admit(channel) else { throw ShedConnection() }
                        ticket = admitted
                    }
                    let pipeline = channel.pipeline.syncOperations
                    let authenticated = try store.current.addServerHandlers(
                        to: pipeline,
                        acceptedPeers: acceptedPeers,
                        onRefused: onRefused
                    )
                    try addFraming(to: pipeline, maximumFrameLength: maximumFrameLength)
                    let messages = try makePeerChannel(channel)
                    return PendingPeerConnection(authenticated: authenticated, channel: messages, admission: ticket)
                }
            }
    }
}

/// Dials a peer: TCP, mutual TLS 1.3, and the check that the server's certificate names the peer dialled.
public enum PeerDialer {
    /// Connects and authenticates.
    /// - Throws: ``PeerTransportError`` when the peer is not who it should be, or the transport's error.
    public static func connect(
        host: String,
        port: Int,
        tls: PeerTLS,
        expectedPeer: String,
        maximumFrameLength: Int = PeerFraming.defaultMaximumFrameLength,
        connectTimeout: TimeAmount = .seconds(3),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> PeerConnection {
        let pending = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(connectTimeout)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    let authenticated = try tls.addClientHandlers(to: pipeline, expectedPeer: expectedPeer)
                    try addFraming(to: pipeline, maximumFrameLength: maximumFrameLength)
                    let messages = try makePeerChannel(channel)
                    return PendingPeerConnection(authenticated: authenticated, channel: messages, admission: nil)
                }
            }
        return try await pending.authenticate()
    }
}

/// The async wrapper of a peer connection, torn down when it is dropped. A connection NIO accepted (or dialled) that
/// nobody takes any more — the listener stopping while a peer connects, a dial that lost a race at shutdown — is
/// then closed; with NIO's newer, explicit teardown its wrapper traps instead ("Deinited NIOAsyncWriter without calling
/// finish()"), seen under load at a shutdown that raced a peer's connect. Every connection that is taken still ends
/// through `executeThenClose`.
private func makePeerChannel(_ channel: any Channel) throws -> NIOAsyncChannel<PeerMessage, PeerMessage> {
    try NIOAsyncChannel<PeerMessage, PeerMessage>(synchronouslyWrapping: channel)
}

/// A connection shed by admission control: it was closed and goes no further than the child channel initializer.
private struct ShedConnection: Error {}

private func addFraming(to pipeline: ChannelPipeline.SynchronousOperations, maximumFrameLength: Int) throws {
    try pipeline.addHandler(ByteToMessageHandler(PeerFrameDecoder(maximumFrameLength: maximumFrameLength)))
    try pipeline.addHandler(MessageToByteHandler(PeerFrameEncoder()))
}
