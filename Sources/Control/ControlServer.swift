import Logging
import NIOCore
import NIOPosix

/// The daemon's end of the control socket: a Unix stream socket only root may use (mode 0600), each connection
/// carrying one request line (at most ``maximumRequestLength`` bytes) answered by a ``ControlResponder``,
/// connections served concurrently.
///
/// ```swift
/// let server = try await ControlServer.bind(path: "/run/lvsync/lvsync.sock", responder: daemon, logger: logger)
/// try await server.run()  // until cancelled; removes the socket file on the way out
/// ```
public struct ControlServer: Sendable {
    /// Where `lvsync status` and friends find the daemon unless configured otherwise.
    public static let defaultSocketPath = "/run/lvsync/lvsync.sock"
    /// The longest request line accepted, in bytes.
    public static let maximumRequestLength = 64 * 1024

    /// The socket's path.
    public let path: String
    private let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let responder: any ControlResponder
    private let identity: ControlSocketFile.Identity?
    private let logger: Logger

    private init(
        path: String,
        channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>,
        responder: any ControlResponder,
        identity: ControlSocketFile.Identity?,
        logger: Logger
    ) {
        self.path = path
        self.channel = channel
        self.responder = responder
        self.identity = identity
        self.logger = logger
    }

    /// Binds the socket: creates its directory (0755) if missing, replaces a stale socket, makes it mode 0600.
    ///
    /// Bind before starting the rest of the daemon, so that a second daemon stops before it touches anything.
    /// - Throws: ``ControlError``: ``ControlError/Kind/anotherDaemon`` when a live daemon answers at `path`,
    ///   ``ControlError/Kind/unusablePath`` when the path holds something that is not a socket or cannot be bound.
    public static func bind(
        path: String,
        responder: some ControlResponder,
        logger: Logger
    ) async throws(ControlError) -> ControlServer {
        try await ControlSocketFile.prepare(path)
        let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(unixDomainSocketPath: path) { child in
                    child.eventLoop.makeCompletedFuture {
                        let lines = ControlLineDecoder(
                            maximumLength: maximumRequestLength,
                            subject: "the request",
                            acceptsUnterminatedLastLine: true
                        )
                        try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(lines))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                    }
                }
        } catch {
            throw ControlError(.unusablePath, "cannot bind the control socket \(path): \(error)")
        }
        do {
            try ControlSocketFile.restrict(path)
        } catch {
            try? await channel.channel.close()
            ControlSocketFile.remove(path, identity: ControlSocketFile.identity(of: path))
            throw error
        }
        var logger = logger
        logger[metadataKey: "control.socket"] = "\(path)"
        return ControlServer(
            path: path,
            channel: channel,
            responder: responder,
            identity: ControlSocketFile.identity(of: path),
            logger: logger
        )
    }

    /// Serves connections until the task is cancelled, then closes the socket and removes its file. Call it once.
    public func run() async throws {
        defer { ControlSocketFile.remove(path, identity: identity) }
        logger.info("control socket listening")
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection) }
                    }
                }
            }
        } catch is CancellationError where Task.isCancelled {
            // Cancellation is how the server is told to stop.
        }
        logger.info("control socket closed")
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                let writer = ControlReplyWriter(outbound: outbound, channel: connection.channel)
                let request: ControlRequest
                do {
                    request = try await Self.readRequest(inbound)
                } catch {
                    let problem = error as? ControlError ?? ControlError(.io, "\(error)")
                    // A connection that closes without a request (a liveness probe) is no one's mistake.
                    logger.log(
                        level: problem.kind == .disconnected ? .debug : .notice,
                        "refused a control request",
                        metadata: ["error": "\(problem.message)"]
                    )
                    let message = problem.message
                    try? await writer.finish(with: .object(["error": .string(message)]))
                    return
                }
                await answer(request, writer: writer)
            }
        } catch {
            logger.debug("a control connection failed", metadata: ["error": "\(error)"])
        }
    }

    private func answer(_ request: ControlRequest, writer: ControlReplyWriter) async {
        var logger = logger
        logger[metadataKey: "control.command"] = "\(request.command)"
        logger.debug("control request", metadata: ["arguments": "\(JSONValue.object(request.arguments).jsonText)"])
        do {
            try await responder.respond(to: request, writer: writer)
            try await writer.finish(with: .object(["end": true]))
        } catch let error as ControlError where error.kind == .disconnected {
            logger.debug("the control client went away", metadata: ["error": "\(error.message)"])
        } catch let error as ControlError {
            logger.debug("control request refused", metadata: ["error": "\(error.message)"])
            try? await writer.finish(with: .object(["error": .string(error.message)]))
        } catch is CancellationError {
            try? await writer.finish(with: .object(["error": "the daemon is stopping"]))
        } catch {
            logger.error("a control request failed", metadata: ["error": "\(error)"])
            try? await writer.finish(
                with: .object(["error": .string("the daemon failed to answer \(request.command): \(error)")])
            )
        }
    }

    /// The request line: the first line of the connection (the pipeline's ``ControlLineDecoder`` cuts and bounds
    /// it; a last line without its newline counts when the client closes its side).
    private static func readRequest(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>
    ) async throws(ControlError) -> ControlRequest {
        do {
            for try await line in inbound {
                return try ControlRequest(jsonLine: line.readableBytesView)
            }
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError(.disconnected, "the connection failed before a request arrived: \(error)")
        }
        throw ControlError(.disconnected, "the connection ended before a request line arrived")
    }
}
