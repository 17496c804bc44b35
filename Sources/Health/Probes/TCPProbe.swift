import NIOCore
import NIOPosix

/// A TCP connect to the real server (and an immediate close): it passes when the handshake completes.
public struct TCPProbe: Probe {
    /// The server's address (IPv4 or IPv6).
    public var host: String
    /// Its port.
    public var port: Int
    /// The local address to connect from (nil: the kernel's choice).
    public var source: String?

    /// A probe of `host`:`port`.
    public init(host: String, port: Int, source: String? = nil) {
        self.host = host
        self.port = port
        self.source = source
    }

    public var description: String { "tcp \(host.contains(":") ? "[\(host)]" : host):\(port)" }

    public func run(timeout: Duration) async -> Checker.Outcome {
        let (host, port, source) = (host, port, source)
        return await timed(timeout) {
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(ProbeDeadline.socketLimit(timeout))
            if let source { bootstrap = try bootstrap.bind(to: SocketAddress(ipAddress: source, port: 0)) }
            let channel = try await bootstrap.connect(host: host, port: port).get()
            try? await channel.close()
            return "connected"
        }
    }
}
