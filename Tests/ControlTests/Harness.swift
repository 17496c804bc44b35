import Control
import Foundation
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A responder made of a closure.
struct FakeResponder: ControlResponder {
    var body: @Sendable (ControlRequest, ControlReplyWriter) async throws -> Void

    func respond(to request: ControlRequest, writer: ControlReplyWriter) async throws {
        try await body(request, writer)
    }
}

/// A fresh directory under the temporary directory (short, for the 107-byte socket path limit).
func temporaryDirectory() throws -> String {
    var template = Array("/tmp/lvsync-control-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw ControlError(.io, "mkdtemp failed") }
    return String(cString: made)
}

let testLogger = Logger(label: "control-tests")

/// Runs a server at `path` (a fresh temporary path by default) around `body`, then stops it.
func withServer<Result: Sendable>(
    at path: String? = nil,
    _ responder: @escaping @Sendable (ControlRequest, ControlReplyWriter) async throws -> Void,
    _ body: @Sendable (String) async throws -> Result
) async throws -> Result {
    let socket = try path ?? (temporaryDirectory() + "/run/lvsync.sock")
    let server = try await ControlServer.bind(
        path: socket,
        responder: FakeResponder(body: responder),
        logger: testLogger
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        do {
            let result = try await body(socket)
            group.cancelAll()
            try await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

/// Sends raw bytes to the socket and reads every line until the server closes.
func rawExchange(_ bytes: String, at path: String) async throws -> [String] {
    try await rawExchange([Array(bytes.utf8)], at: path)
}

/// Sends `chunks` as separate writes (then closes the sending side when `halfClose`), and reads every line until
/// the server closes.
func rawExchange(_ chunks: [[UInt8]], halfClose: Bool = false, at path: String) async throws -> [String] {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: true)
                )
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        for chunk in chunks {
            try await outbound.write(ByteBuffer(bytes: chunk))
            try await Task.sleep(for: .milliseconds(5))
        }
        if halfClose { outbound.finish() }
        var text = ""
        for try await chunk in inbound { text += String(buffer: chunk) }
        return text.split(separator: "\n").map(String.init)
    }
}

/// Leaves a socket file at `path` that nothing listens on, as a daemon that crashed does.
func makeStaleSocket(at path: String) throws {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw ControlError(.io, "socket() failed") }
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard bound == 0 else { throw ControlError(.io, "bind(\(path)) failed") }
}

/// The permission bits of the file at `path`.
func mode(of path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}

/// Whether `path` is a socket file.
func isSocket(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
}

/// One value handed from one task to another: the receiver waits until it is sent.
final class Handoff<Value: Sendable>: Sendable {
    private let stream: AsyncStream<Value>
    private let continuation: AsyncStream<Value>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Value.self)
    }

    func send(_ value: Value) {
        continuation.yield(value)
        continuation.finish()
    }

    func receive() async -> Value? {
        for await value in stream { return value }
        return nil
    }
}
