import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import PeerTransport
import Prometheus
import ServiceLifecycle

/// The Prometheus endpoint: HTTP/1.1 on a configured address, `GET /metrics` answered with the registry in the text
/// exposition format (version 0.0.4), after `refresh` brought the figures that are read rather than counted up to
/// date. Anything else gets 404 (another path) or 405 (another method); connections are served concurrently; a request body
/// is read and ignored, a malformed request gets 400 from NIO's HTTP parser.
///
/// Anyone who reaches its address can connect, so connections are bounded (``Limits``): over the cap one is closed
/// at once, before any HTTP handler is added, and one that sends nothing for the idle timeout is closed; both are
/// counted in `lvsync_metrics_connections_shed_total{reason="global_cap"|"idle_timeout"}`, never logged one by one.
///
/// ```swift
/// let endpoint = try await MetricsEndpoint.bind(host: "127.0.0.1", port: 9788, registry: registry, logger: logger)
/// try await endpoint.run()   // until cancelled
/// ```
public struct MetricsEndpoint: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    private let channel: NIOAsyncChannel<Connection, Never>
    private let registry: PrometheusCollectorRegistry
    private let refresh: @Sendable () -> Void
    private let logger: Logger

    /// The bounds on scrape connections.
    public struct Limits: Hashable, Sendable {
        /// Connections open at once; more are closed as they come.
        public var connections: Int
        /// A connection that sends nothing for this long is closed.
        public var idleTimeout: TimeAmount

        /// Bounds of `connections` open at once and `idleTimeout` without a byte from the client.
        public init(connections: Int = 16, idleTimeout: TimeAmount = .seconds(10)) {
            self.connections = connections
            self.idleTimeout = idleTimeout
        }
    }

    /// Where it is bound (port 0 in `bind` picks one).
    public var localAddress: SocketAddress? { channel.channel.localAddress }

    private init(
        channel: NIOAsyncChannel<Connection, Never>,
        registry: PrometheusCollectorRegistry,
        refresh: @escaping @Sendable () -> Void,
        logger: Logger
    ) {
        self.channel = channel
        self.registry = registry
        self.refresh = refresh
        self.logger = logger
    }

    /// Binds the listener.
    /// - Parameter refresh: called before each scrape (e.g. ``StatsMetrics/update(from:)``).
    /// - Throws: ``DaemonError`` naming the address when it cannot be bound.
    public static func bind(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        refresh: @escaping @Sendable () -> Void = {},
        limits: Limits = Limits(),
        logger: Logger
    ) async throws(DaemonError) -> MetricsEndpoint {
        let shed: @Sendable (ShedReason) -> Void = { reason in
            Counter(label: "lvsync_metrics_connections_shed_total", dimensions: [("reason", reason.rawValue)])
                .increment()
        }
        // Every open connection holds a place until it closes (none is ever "proven").
        let admission = ConnectionAdmission(
            limits: ConnectionAdmission.Limits(
                pending: limits.connections,
                pendingPerSource: limits.connections,
                deadline: nil
            ),
            onShed: shed
        )
        let idleTimeout = limits.idleTimeout
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { child in
                    child.eventLoop.makeCompletedFuture {
                        guard admission.admit(child) != nil else { throw ShedScrape() }
                        try child.pipeline.syncOperations.addHandlers([
                            IdleStateHandler(readTimeout: idleTimeout),
                            IdleCloser { shed(.idleTimeout) },
                        ])
                        try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: child)
                    }
                }
            var logger = logger
            logger[metadataKey: "metrics.listen"] =
                "\(channel.channel.localAddress.map { "\($0)" } ?? "\(host):\(port)")"
            return MetricsEndpoint(channel: channel, registry: registry, refresh: refresh, logger: logger)
        } catch {
            throw DaemonError("cannot listen for metrics scrapes on \(host):\(port): \(error)")
        }
    }

    /// Closes a listener that will not run (the daemon failed to start after binding it).
    public func close() async {
        try? await channel.executeThenClose { _ in }
    }

    /// Serves scrapes until the task is cancelled, then closes the listener.
    public func run() async throws {
        logger.info("metrics endpoint listening")
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection) }
                    }
                }
            }
        } catch is CancellationError where Task.isCancelled {
            // Cancellation is how the endpoint is told to stop.
        }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let request):
                        head = request
                    case .body:
                        continue
                    case .end:
                        guard let request = head else { continue }
                        let (status, body) = answer(request)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
                        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
                        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
                        try await outbound.write(
                            .head(HTTPResponseHead(version: request.version, status: status, headers: headers))
                        )
                        if request.method != .HEAD { try await outbound.write(.body(.byteBuffer(body))) }
                        try await outbound.write(.end(nil))
                        if !request.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("a metrics connection failed", metadata: ["error": "\(error)"])
        }
    }

    private func answer(_ request: HTTPRequestHead) -> (HTTPResponseStatus, ByteBuffer) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard path == "/metrics" else {
            return (.notFound, ByteBuffer(string: "lvsync serves its metrics at /metrics\n"))
        }
        guard request.method == .GET || request.method == .HEAD else {
            return (.methodNotAllowed, ByteBuffer(string: "/metrics answers GET and HEAD\n"))
        }
        refresh()
        return (.ok, ByteBuffer(bytes: registry.emitToBuffer()))
    }
}

/// A scrape connection over the cap: closed by the admission, it goes no further than the initializer.
private struct ShedScrape: Error {}

/// Closes a connection its `IdleStateHandler` found idle (nothing read for the idle timeout), telling `onIdle`.
private final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    private let onIdle: @Sendable () -> Void

    init(onIdle: @escaping @Sendable () -> Void) {
        self.onIdle = onIdle
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .read = event as? IdleStateHandler.IdleStateEvent {
            onIdle()
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// A ``MetricsEndpoint`` as a swift-service-lifecycle service: it serves until the group shuts down gracefully.
public struct MetricsService: Service {
    private let endpoint: MetricsEndpoint

    /// Runs `endpoint` (bound first, so that a busy address stops the daemon before it starts anything).
    public init(endpoint: MetricsEndpoint) {
        self.endpoint = endpoint
    }

    /// Serves until a graceful shutdown or cancellation.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await endpoint.run()
            }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            // The graceful shutdown cancels the endpoint: its normal end.
        }
    }
}
