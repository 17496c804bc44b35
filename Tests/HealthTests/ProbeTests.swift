import Foundation
import Health
import LVSyncTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import PeerTransport
import Testing

/// A loopback TCP server that answers each connection with `reply` (nil: accepts and never answers), then closes.
final class CannedServer: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(reply: String?, tls: NIOSSLContext? = nil) throws {
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try child.pipeline.syncOperations.addHandler(Replier(reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() { try? channel.close().wait() }

    final class Replier: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let reply: String?
        init(reply: String?) { self.reply = reply }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let reply else { return }
            // Answer once, then close the sending side: the client reads the reply to its end and closes.
            context.writeAndFlush(NIOAny(ByteBuffer(string: reply))).whenComplete { [context] _ in
                context.close(mode: .output, promise: nil)
            }
        }
    }
}

/// A loopback UDP server that answers every datagram with `answer(datagram)`.
final class UDPServer: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(answer: @escaping @Sendable ([UInt8]) -> [UInt8]?) throws {
        channel = try DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Answerer(answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() { try? channel.close().wait() }

    final class Answerer: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let answer: @Sendable ([UInt8]) -> [UInt8]?
        init(answer: @escaping @Sendable ([UInt8]) -> [UInt8]?) { self.answer = answer }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let reply = answer(Array(envelope.data.readableBytesView)) else { return }
            context.writeAndFlush(
                wrapOutboundOut(
                    AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))
                ),
                promise: nil
            )
        }
    }
}

func reason(_ outcome: Checker.Outcome) -> String? {
    if case .failed(_, let reason) = outcome { return reason }
    return nil
}

func latency(_ outcome: Checker.Outcome) -> Duration {
    outcome.latency
}

@Suite("Health: probes against real listeners on loopback")
struct ProbeTests {
    @Test("TCP: a listener passes; a closed port fails with 'connection refused'")
    func tcp() async throws {
        let server = try CannedServer(reply: nil)
        defer { server.stop() }
        let up = await TCPProbe(host: "127.0.0.1", port: server.port).run(timeout: .seconds(10))
        #expect(reason(up) == nil, "\(up)")
        let down = await TCPProbe(host: "127.0.0.1", port: try closedPort()).run(timeout: .seconds(10))
        #expect(reason(down)?.contains("refused") == true, "\(down)")
    }

    @Test("HTTP: the expected status passes; another fails naming both; a digest must match")
    func http() async throws {
        let ok = try CannedServer(reply: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        let busy = try CannedServer(reply: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        defer {
            ok.stop()
            busy.stop()
        }
        let pass = await HTTPProbe(host: "127.0.0.1", port: ok.port, path: "/health").run(timeout: .seconds(10))
        #expect(reason(pass) == nil, "\(pass)")
        let fail = await HTTPProbe(host: "127.0.0.1", port: busy.port).run(timeout: .seconds(10))
        #expect(reason(fail) == "status 503 (expected 200)")
        // SHA-256("hello")
        let digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        let match = await HTTPProbe(host: "127.0.0.1", port: ok.port, bodySHA256: digest).run(timeout: .seconds(10))
        #expect(reason(match) == nil, "\(match)")
        let mismatch = await HTTPProbe(host: "127.0.0.1", port: ok.port, bodySHA256: String(repeating: "0", count: 64))
            .run(timeout: .seconds(10))
        #expect(reason(mismatch)?.hasPrefix("the body's SHA-256 is 2cf24dba") == true)
        let other = await HTTPProbe(host: "127.0.0.1", port: busy.port, expectedStatuses: [200, 503])
            .run(timeout: .seconds(10))
        #expect(reason(other) == nil)
    }

    @Test("HTTPS: a GET over TLS passes (certificate not verified by default); verified against an unknown CA it fails")
    func https() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lvsync-https-\(UUID().uuidString)"
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        try CertificateDirectory.initialize(directory: directory.path, nodes: ["rs1"])
        let context = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(directory.appendingPathComponent("rs1.pem").path)
                    .map { .certificate($0) },
                privateKey: .privateKey(
                    try NIOSSLPrivateKey(file: directory.appendingPathComponent("rs1-key.pem").path, format: .pem)
                )
            )
        )
        let server = try CannedServer(reply: "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", tls: context)
        defer { server.stop() }
        let pass = await HTTPProbe(host: "127.0.0.1", port: server.port, expectedStatuses: [204], tls: true)
            .run(timeout: .seconds(5))
        #expect(reason(pass) == nil, "\(pass)")
        let verified = await HTTPProbe(
            host: "127.0.0.1",
            port: server.port,
            expectedStatuses: [204],
            tls: true,
            verifyCertificate: true
        ).run(timeout: .seconds(5))
        #expect(reason(verified) != nil, "a private CA's certificate does not verify against the system's roots")
        let plain = await HTTPProbe(host: "127.0.0.1", port: server.port).run(timeout: .milliseconds(500))
        #expect(reason(plain) != nil, "plain HTTP to a TLS server fails")
    }

    @Test("a server that accepts and never answers is bounded by the timeout")
    func silentServer() async throws {
        let silent = try CannedServer(reply: nil)
        defer { silent.stop() }
        let outcome = await HTTPProbe(host: "127.0.0.1", port: silent.port).run(timeout: .milliseconds(300))
        #expect(reason(outcome) == "timed out after 300 ms")
    }

    @Test("UDP: an answer passes (with the expected start); silence times out")
    func udp() async throws {
        let server = try UDPServer { datagram in datagram.first == 0x71 ? Array("A".utf8) + datagram : nil }
        defer { server.stop() }
        let pass = await UDPProbe(host: "127.0.0.1", port: server.port, payload: Array("q".utf8), expectPrefix: [0x41])
            .run(timeout: .seconds(10))
        #expect(reason(pass) == nil, "\(pass)")
        let wrong = await UDPProbe(host: "127.0.0.1", port: server.port, payload: Array("q".utf8), expectPrefix: [0x42])
            .run(timeout: .seconds(10))
        #expect(reason(wrong)?.contains("does not start with") == true)
        let silent = await UDPProbe(host: "127.0.0.1", port: server.port, payload: Array("x".utf8))
            .run(timeout: .milliseconds(200))
        #expect(reason(silent) == "timed out after 200 ms")
    }

    @Test("DNS: a NOERROR answer with the query's ID passes; NXDOMAIN and SERVFAIL fail by name")
    func dns() async throws {
        // Answers with the query's ID and the RCODE the name asks for.
        let server = try UDPServer { query in
            guard query.count > 12 else { return nil }
            var reply = Array(query[0..<12])
            reply[2] = 0x81
            let name = String(decoding: query[13..<(13 + Int(query[12]))], as: UTF8.self)
            reply[3] = name == "missing" ? 0x83 : name == "broken" ? 0x82 : 0x80
            reply[7] = name == "good" ? 1 : 0
            return reply
        }
        defer { server.stop() }
        let good = await DNSProbe(host: "127.0.0.1", port: server.port, name: "good.example", expectAnswers: true)
            .run(timeout: .seconds(10))
        #expect(reason(good) == nil, "\(good)")
        let missing = await DNSProbe(host: "127.0.0.1", port: server.port, name: "missing.example")
            .run(timeout: .seconds(10))
        #expect(reason(missing) == "DNS NXDOMAIN")
        let broken = await DNSProbe(host: "127.0.0.1", port: server.port, name: "broken.example")
            .run(timeout: .seconds(10))
        #expect(reason(broken) == "DNS SERVFAIL")
        let empty = await DNSProbe(host: "127.0.0.1", port: server.port, name: "empty.example", expectAnswers: true)
            .run(timeout: .seconds(10))
        #expect(reason(empty) == "NOERROR without an answer")
    }

    @Test("command: exit 0 passes; another status fails with the last line of output")
    func command() async throws {
        let pass = await CommandProbe(path: "/bin/sh", arguments: ["-c", "echo fine; exit 0"]).run(timeout: .seconds(5))
        #expect(reason(pass) == nil, "\(pass)")
        let fail = await CommandProbe(
            path: "/bin/sh",
            arguments: ["-c", "echo first; echo 'backend gone' >&2; exit 3"]
        )
        .run(timeout: .seconds(5))
        #expect(reason(fail) == "exit status 3: backend gone")
        let missing = await CommandProbe(path: "/nonexistent/check").run(timeout: .seconds(5))
        #expect(reason(missing)?.hasPrefix("cannot run /nonexistent/check") == true, "\(missing)")
        let relative = await CommandProbe(path: "check.sh").run(timeout: .seconds(5))
        #expect(reason(relative)?.contains("absolute path") == true)
    }

    @Test("a command that hangs, leaves children behind, or floods its output is bounded by the timeout")
    func commandBounded() async throws {
        let started = ContinuousClock.now
        let hang = await CommandProbe(path: "/bin/sh", arguments: ["-c", "sleep 60 & sleep 60"])
            .run(timeout: .milliseconds(300))
        #expect(reason(hang) == "timed out after 300 ms")
        // Unbounded, the children would hold the output pipe for a minute; a generous bound that no loaded machine
        // reaches when the group is ended.
        #expect(ContinuousClock.now - started < .seconds(45), "the group was ended, children included")
        let ignoresTerm = await CommandProbe(path: "/bin/sh", arguments: ["-c", "trap '' TERM; sleep 60"])
            .run(timeout: .milliseconds(300))
        #expect(reason(ignoresTerm) == "timed out after 300 ms")
        let flood = await CommandProbe(path: "/bin/sh", arguments: ["-c", "yes lvsync | head -c 50000000; exit 1"])
            .run(timeout: .seconds(20))
        #expect(reason(flood)?.hasPrefix("exit status 1") == true, "a flood is drained, not a deadlock: \(flood)")
    }
}
