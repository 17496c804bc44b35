import NIOCore
import NIOPosix

/// A UDP exchange with the real server: one datagram sent, and a reply expected within the timeout (starting with
/// `expectPrefix` when one is given). ``DNSProbe`` builds on it.
public struct UDPProbe: Probe {
    /// The server's address.
    public var host: String
    /// Its port.
    public var port: Int
    /// The datagram sent.
    public var payload: [UInt8]
    /// The reply must start with these bytes (nil: any reply passes).
    public var expectPrefix: [UInt8]?
    /// The local address to send from.
    public var source: String?

    /// A probe of `host`:`port`.
    public init(host: String, port: Int, payload: [UInt8], expectPrefix: [UInt8]? = nil, source: String? = nil) {
        self.host = host
        self.port = port
        self.payload = payload
        self.expectPrefix = expectPrefix
        self.source = source
    }

    public var description: String { "udp \(host.contains(":") ? "[\(host)]" : host):\(port)" }

    public func run(timeout: Duration) async -> Checker.Outcome {
        let probe = self
        return await timed(timeout) {
            let reply = try await probe.exchange()
            if let prefix = probe.expectPrefix, !reply.starts(with: prefix) {
                throw ProbeFailure("the reply (\(reply.count) bytes) does not start with the expected bytes")
            }
            return "\(reply.count)-byte reply"
        }
    }

    /// Sends the payload and returns the first datagram that comes back from the server.
    func exchange() async throws -> [UInt8] {
        let server = try SocketAddress(ipAddress: host, port: port)
        let local = source ?? (server.protocol == .inet6 ? "::" : "0.0.0.0")
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: local, port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: payload)))
            for try await envelope in inbound where envelope.remoteAddress == server {
                return Array(envelope.data.readableBytesView)
            }
            throw ProbeFailure("no reply")
        }
    }
}

/// A DNS query to the real server (a name server): it passes when an answer with the query's ID comes back with
/// RCODE 0 (NOERROR), and, when `expectAnswers`, at least one answer record.
public struct DNSProbe: Probe {
    /// The server's address.
    public var host: String
    /// Its port (53).
    public var port: Int
    /// The name asked for.
    public var name: String
    /// The record type (1: A, 28: AAAA, ...).
    public var type: UInt16
    /// Whether the answer must hold a record.
    public var expectAnswers: Bool
    /// The local address to send from.
    public var source: String?

    /// A query for `name` (type A by default) to `host`:`port`.
    public init(
        host: String,
        port: Int = 53,
        name: String,
        type: UInt16 = 1,
        expectAnswers: Bool = false,
        source: String? = nil
    ) {
        self.host = host
        self.port = port
        self.name = name
        self.type = type
        self.expectAnswers = expectAnswers
        self.source = source
    }

    public var description: String { "dns \(host.contains(":") ? "[\(host)]" : host):\(port) \(name)" }

    public func run(timeout: Duration) async -> Checker.Outcome {
        let id = UInt16.random(in: 0...UInt16.max)
        let udp = UDPProbe(host: host, port: port, payload: Self.query(id: id, name: name, type: type), source: source)
        let expectAnswers = expectAnswers
        return await timed(timeout) {
            try Self.verdict(try await udp.exchange(), id: id, expectAnswers: expectAnswers)
        }
    }

    /// A standard query with recursion desired.
    static func query(id: UInt16, name: String, type: UInt16) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            let utf8 = Array(label.utf8.prefix(63))
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        bytes += [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
        return bytes
    }

    static func verdict(_ reply: [UInt8], id: UInt16, expectAnswers: Bool) throws -> String {
        guard reply.count >= 12 else { throw ProbeFailure("a DNS reply of \(reply.count) bytes is too short") }
        guard UInt16(reply[0]) << 8 | UInt16(reply[1]) == id else {
            throw ProbeFailure("the reply is for another query")
        }
        guard reply[2] & 0x80 != 0 else { throw ProbeFailure("the reply is not a response") }
        let rcode = reply[3] & 0x0f
        let names = [0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"]
        guard rcode == 0 else { throw ProbeFailure("DNS \(names[Int(rcode)] ?? "RCODE \(rcode)")") }
        let answers = Int(reply[6]) << 8 | Int(reply[7])
        if expectAnswers, answers == 0 { throw ProbeFailure("NOERROR without an answer") }
        return "NOERROR, \(answers) answer\(answers == 1 ? "" : "s")"
    }
}
