import Crypto
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP/1.1 GET to the real server: it passes when the status is one of the expected ones and, when a digest is
/// configured, the body's SHA-256 matches. With `tls`, the GET goes over TLS (HTTPS); the server's certificate is not
/// verified unless `verifyCertificate` (real servers often present one for the service name, not for their own
/// address). Bodies are read up to 1 MiB; a longer one fails.
public struct HTTPProbe: Probe {
    /// The server's address.
    public var host: String
    /// Its port.
    public var port: Int
    /// The path (and query) asked for.
    public var path: String
    /// The `Host` header (and the TLS server name); nil: the address.
    public var virtualHost: String?
    /// Statuses that pass.
    public var expectedStatuses: Set<Int>
    /// The body's SHA-256 as lowercase hex, if the body must match.
    public var bodySHA256: String?
    /// HTTPS.
    public var tls: Bool
    /// Verify the server's certificate chain and name (HTTPS only).
    public var verifyCertificate: Bool
    /// The local address to connect from.
    public var source: String?

    /// The largest body read.
    public static let maximumBody = 1 << 20

    /// A GET of `path` on `host`:`port`.
    public init(
        host: String,
        port: Int,
        path: String = "/",
        virtualHost: String? = nil,
        expectedStatuses: Set<Int> = [200],
        bodySHA256: String? = nil,
        tls: Bool = false,
        verifyCertificate: Bool = false,
        source: String? = nil
    ) {
        self.host = host
        self.port = port
        self.path = path
        self.virtualHost = virtualHost
        self.expectedStatuses = expectedStatuses
        self.bodySHA256 = bodySHA256?.lowercased()
        self.tls = tls
        self.verifyCertificate = verifyCertificate
        self.source = source
    }

    public var description: String {
        "\(tls ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)"
    }

    public func run(timeout: Duration) async -> Checker.Outcome {
        let probe = self
        return await timed(timeout) { try await probe.exchange(timeout: timeout) }
    }

    private func exchange(timeout: Duration) async throws -> String {
        let sslContext: NIOSSLContext? =
            tls
            ? try {
                var configuration = TLSConfiguration.makeClientConfiguration()
                if !verifyCertificate { configuration.certificateVerification = .none }
                return try NIOSSLContext(configuration: configuration)
            }() : nil
        let serverName = virtualHost ?? host
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(ProbeDeadline.socketLimit(timeout))
        if let source { bootstrap = try bootstrap.bind(to: SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap.connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sslContext {
                    // SNI takes a name, not an address.
                    let name = serverName.contains(where: { $0.isLetter && !$0.isHexDigit }) ? serverName : nil
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: sslContext, serverHostname: name)
                    )
                }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                    wrappingChannelSynchronously: channel
                )
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: virtualHost ?? (host.contains(":") ? "[\(host)]" : host))
            headers.add(name: "User-Agent", value: "lvsync-health")
            headers.add(name: "Connection", value: "close")
            // One write: a server that answers and closes at the request's head must not find its end still coming.
            try await outbound.write(
                contentsOf: [
                    .head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)), .end(nil),
                ]
            )
            var status: Int?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let head):
                    status = Int(head.status.code)
                case .body(var buffer):
                    guard body.count + buffer.readableBytes <= Self.maximumBody else {
                        throw ProbeFailure("the body is longer than \(Self.maximumBody) bytes")
                    }
                    body += buffer.readBytes(length: buffer.readableBytes) ?? []
                case .end:
                    return try verdict(status: status, body: body)
                }
            }
            return try verdict(status: status, body: body)
        }
    }

    private func verdict(status: Int?, body: [UInt8]) throws -> String {
        guard let status else { throw ProbeFailure("the server closed the connection without a response") }
        guard expectedStatuses.contains(status) else {
            throw ProbeFailure(
                "status \(status) (expected \(expectedStatuses.sorted().map(String.init).joined(separator: " or ")))"
            )
        }
        if let bodySHA256 {
            let digest = SHA256.hash(data: body).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
            guard digest == bodySHA256 else {
                throw ProbeFailure("the body's SHA-256 is \(digest), expected \(bodySHA256)")
            }
        }
        return "status \(status)"
    }
}
