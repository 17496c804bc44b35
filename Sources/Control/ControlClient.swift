import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The CLI's end of the control socket: connects, sends one request, reads the reply's objects until its end.
///
/// ```swift
/// try await ControlClient.withReply(to: ControlRequest(command: "stats", arguments: ["follow": true]),
///                                   socketPath: path) { reply in
///     for try await object in reply { print(object.jsonText) }
/// }
/// ```
public enum ControlClient {
    /// How long the client waits for the daemon's next reply line by default.
    public static let defaultSilenceLimit = Duration.seconds(10)

    /// The longest reply line accepted, in bytes.
    public static let maximumReplyLineLength = 16 << 20

    /// Sends `request` to the daemon at `socketPath` and hands its reply to `body`, an async sequence of the
    /// objects that ends at the daemon's end line. The connection closes when `body` returns: leaving a follow
    /// early (a `break`, or cancellation) tells the daemon to stop.
    /// - Throws: ``ControlError``: ``ControlError/Kind/noDaemon`` ("no lvsync daemon is running (nothing answers at
    ///   PATH)"), ``ControlError/Kind/permissionDenied`` (run as root), ``ControlError/Kind/daemon`` with the
    ///   daemon's sentence for an `{"error":...}` reply (thrown by the sequence), or what `body` throws.
    ///
    /// A daemon that says nothing for `silenceLimit` — no reply line, between any two lines — ends the reply with
    /// ``ControlError/Kind/timeout``: a wedged daemon's socket still accepts connections, and a monitoring script
    /// must not hang on it.
    public static func withReply<Result: Sendable>(
        to request: ControlRequest,
        socketPath: String,
        silenceLimit: Duration = defaultSilenceLimit,
        _ body: (ControlReply) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(socketPath)
        return try await connection.executeThenClose { inbound, outbound in
            do {
                try await outbound.write(ByteBuffer(string: request.jsonText + "\n"))
            } catch {
                throw ControlError(.disconnected, "the daemon at \(socketPath) closed the connection: \(error)")
            }
            // The daemon's silence counts from the request on.
            try await connection.channel.pipeline.addHandlers(
                [
                    IdleStateHandler(readTimeout: TimeAmount.nanoseconds(silenceLimit.nanosecondsClamped)),
                    ReplySilenceHandler(socketPath: socketPath, limit: silenceLimit),
                ],
                position: .first
            )
            return try await body(ControlReply(inbound: inbound))
        }
    }

    /// Sends `request` and collects every object of the reply (for replies that end by themselves).
    /// - Throws: as ``withReply(to:socketPath:_:)``.
    public static func objects(
        of request: ControlRequest,
        socketPath: String,
        silenceLimit: Duration = defaultSilenceLimit
    ) async throws -> [JSONValue] {
        try await withReply(to: request, socketPath: socketPath, silenceLimit: silenceLimit) { reply in
            var objects: [JSONValue] = []
            for try await object in reply { objects.append(object) }
            return objects
        }
    }

    private static func connect(_ path: String) async throws(ControlError) -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        var info = stat()
        if stat(path, &info) != 0, errno == ENOENT || errno == ENOTDIR { throw .noDaemon(at: path) }
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let lines = ControlLineDecoder(
                            maximumLength: maximumReplyLineLength,
                            subject: "a reply line",
                            acceptsUnterminatedLastLine: false
                        )
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(lines))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch let error as IOError {
            switch error.errnoCode {
            case ENOENT, ECONNREFUSED, ENOTDIR: throw .noDaemon(at: path)
            case EACCES, EPERM: throw .permissionDenied(at: path)
            default: throw ControlError(.io, "cannot connect to the control socket \(path): \(error)")
            }
        } catch {
            throw ControlError(.io, "cannot connect to the control socket \(path): \(error)")
        }
    }
}

/// Turns the idle-state handler's read timeout into ``ControlError/Kind/timeout`` and closes the connection.
final class ReplySilenceHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let socketPath: String
    let limit: Duration

    init(socketPath: String, limit: Duration) {
        self.socketPath = socketPath
        self.limit = limit
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        context.fireErrorCaught(
            ControlError(
                .timeout,
                "the daemon at \(socketPath) did not answer within \(limit) (it may be wedged: "
                    + "check `systemctl status lvsync` and its journal)"
            )
        )
        context.close(promise: nil)
    }
}

extension Duration {
    /// The duration in nanoseconds, clamped to `Int64`.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }
}

/// A reply's objects as they arrive: the sequence ends at the daemon's `{"end":true}` and throws
/// ``ControlError`` at its `{"error":...}` (kind ``ControlError/Kind/daemon``), at a line that is not a JSON
/// object (``ControlError/Kind/malformed``), or when the connection ends first
/// (``ControlError/Kind/disconnected``).
public struct ControlReply: AsyncSequence {
    /// A reply object.
    public typealias Element = JSONValue

    private let inbound: NIOAsyncChannelInboundStream<ByteBuffer>

    init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>) {
        self.inbound = inbound
    }

    /// An iterator over the objects.
    public func makeAsyncIterator() -> Iterator {
        Iterator(source: inbound.makeAsyncIterator())
    }

    /// Reads the connection's lines (cut and bounded by the pipeline's ``ControlLineDecoder``) and each as an
    /// object.
    public struct Iterator: AsyncIteratorProtocol {
        private var source: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        private var finished = false

        init(source: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
            self.source = source
        }

        /// The next object, or nil after the end line.
        public mutating func next() async throws -> JSONValue? {
            while !finished {
                let line: ByteBuffer?
                do {
                    line = try await source.next()
                } catch let error as ControlError {
                    finished = true
                    throw error
                } catch {
                    finished = true
                    throw ControlError(.disconnected, "the connection to the daemon failed: \(error)")
                }
                guard let line else {
                    finished = true
                    throw ControlError(.disconnected, "the daemon closed the connection before the end of its reply")
                }
                if let object = try read(line) { return object }
            }
            return nil
        }

        /// The object a line carries; nil for the end line or a blank line.
        private mutating func read(_ line: ByteBuffer) throws(ControlError) -> JSONValue? {
            let bytes = line.readableBytesView
            guard !bytes.allSatisfy({ [0x20, 0x09, 0x0D].contains($0) }) else { return nil }
            let value: JSONValue
            do {
                value = try JSONValue(jsonData: Data(bytes))
            } catch {
                finished = true
                throw ControlError(.malformed, "the daemon's reply line is \(error.message)")
            }
            guard case .object(let members) = value else {
                finished = true
                throw ControlError(.malformed, "the daemon's reply line is \(value.kindDescription), not an object")
            }
            switch ControlReplyLine(members) {
            case .object: return value
            case .end:
                finished = true
                return nil
            case .error(let sentence):
                finished = true
                throw ControlError(.daemon, sentence)
            }
        }
    }
}
