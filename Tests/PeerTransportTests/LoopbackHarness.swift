import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PeerTransport
import Synchronization

/// What a test server saw, from any of its connections.
final class ServerLog: Sendable {
    let refusals = Mutex<[PeerTransportError]>([])
    let authenticated = Mutex<[AuthenticatedPeer]>([])
    /// Every application byte the handlers after the TLS layer were handed.
    let applicationBytes = Mutex<[UInt8]>([])
}

/// A TLS listener on 127.0.0.1 (port 0) with the server handlers and an echo after them.
final class TestServer: Sendable {
    let channel: any Channel
    let log = ServerLog()

    var port: Int { channel.localAddress!.port! }

    init(group: any EventLoopGroup, tls: PeerTLS, acceptedPeers: Set<String>) async throws {
        let log = log
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let pipeline = child.pipeline.syncOperations
                    let peer = try tls.addServerHandlers(to: pipeline, acceptedPeers: acceptedPeers) { refusal in
                        log.refusals.withLock { $0.append(refusal) }
                    }
                    peer.whenSuccess { peer in log.authenticated.withLock { $0.append(peer) } }
                    try pipeline.addHandler(
                        EchoHandler(record: { received in log.applicationBytes.withLock { $0 += received } })
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    /// The refusal number `index` (0-based) the server reported, waiting up to `seconds` for it.
    func refusal(_ index: Int, within seconds: Double = 10) async -> PeerTransportError? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let refusal = log.refusals.withLock({ $0.count > index ? $0[index] : nil }) { return refusal }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    var refusalCount: Int { log.refusals.withLock { $0.count } }
    var applicationBytes: [UInt8] { log.applicationBytes.withLock { $0 } }

    func close() async throws {
        try await channel.close()
    }
}

/// Echoes what it reads and records it.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let record: @Sendable ([UInt8]) -> Void

    init(record: @escaping @Sendable ([UInt8]) -> Void) { self.record = record }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        record(Array(buffer.readableBytesView))
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Collects what a client reads until `count` bytes came, then succeeds; fails with the first error or at EOF.
final class CollectHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<[UInt8]>
    let count: Int
    private var received: [UInt8] = []
    private var done = false

    init(promise: EventLoopPromise<[UInt8]>, count: Int) {
        self.promise = promise
        self.count = count
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytesView
        if received.count >= count { finish(.success(received)) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<[UInt8], any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }
}

/// What a test client saw: the authentication outcome and the bytes echoed back (or the error instead).
struct ClientOutcome {
    let authenticated: Result<AuthenticatedPeer, any Error>
    let echoed: Result<[UInt8], any Error>

    var authenticationError: PeerTransportError? {
        if case .failure(let error) = authenticated { return error as? PeerTransportError }
        return nil
    }
}

/// Dials `port` with `tls`'s client handlers expecting `expectedPeer`, sends `message` once authenticated, and
/// waits for the echo.
func dial(
    group: any EventLoopGroup,
    port: Int,
    tls: PeerTLS,
    expectedPeer: String,
    message: String = "ping"
) async throws -> ClientOutcome {
    let bytes = Array(message.utf8)
    let (channel, authenticated, echoed) = try await ClientBootstrap(group: group)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let pipeline = channel.pipeline.syncOperations
                let authenticated = try tls.addClientHandlers(to: pipeline, expectedPeer: expectedPeer)
                let echoed = channel.eventLoop.makePromise(of: [UInt8].self)
                try pipeline.addHandler(CollectHandler(promise: echoed, count: bytes.count))
                authenticated.whenSuccess { _ in
                    channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
                }
                return (channel, authenticated, echoed.futureResult)
            }
        }
    let authentication = await result(of: authenticated)
    let echo = await result(of: echoed)
    try? await channel.close()
    return ClientOutcome(authenticated: authentication, echoed: echo)
}

/// Dials `port` with a plain NIOSSL client handler built from `configuration` (for clients our PeerTLS would
/// never build: TLS 1.2 only, no certificate), sends `message`, and reports what happened.
func dialRaw(
    group: any EventLoopGroup,
    port: Int,
    tls configuration: TLSConfiguration?,
    message: String = "ping"
) async throws -> Result<[UInt8], any Error> {
    let context = try configuration.map { try NIOSSLContext(configuration: $0) }
    let bytes = Array(message.utf8)
    let (channel, echoed) = try await ClientBootstrap(group: group)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let pipeline = channel.pipeline.syncOperations
                if let context {
                    try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                }
                let echoed = channel.eventLoop.makePromise(of: [UInt8].self)
                try pipeline.addHandler(CollectHandler(promise: echoed, count: bytes.count))
                return (channel, echoed.futureResult)
            }
        }
    // The server may have closed the connection already (a refused TLS client).
    try? await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    let outcome = await result(of: echoed)
    try? await channel.close()
    return outcome
}

func result<Value: Sendable>(of future: EventLoopFuture<Value>) async -> Result<Value, any Error> {
    do {
        return .success(try await future.get())
    } catch {
        return .failure(error)
    }
}
