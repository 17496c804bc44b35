import Daemon
import Foundation
import LVSyncTestSupport
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import Prometheus
import Testing

/// A TCP connection from `source` (a loopback address: the whole of 127/8 is this host) to 127.0.0.1:`port`, over TLS
/// as `identity` when one is given, that sends nothing.
final class SilentConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Connects; a listener that is not bound yet (the director is still starting) is tried again.
    init(port: Int, from source: String = "127.0.0.1", identity: NodeIdentity? = nil) async throws {
        var attempt = 0
        while true {
            do {
                channel = try await Self.connect(port: port, from: source, identity: identity)
                return
            } catch {
                attempt += 1
                guard attempt < 300 else { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    private static func connect(
        port: Int,
        from source: String,
        identity: NodeIdentity?
    ) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let identity {
                        let tls = try PeerTLS(identity: identity)
                        _ = try tls.addClientHandlers(to: channel.pipeline.syncOperations, expectedPeer: "dira")
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Returns once the server closed the connection (what it sent, if anything, is read and dropped).
    func waitForClose() async {
        try? await channel.executeThenClose { inbound, _ in
            for try await _ in inbound {}
        }
    }

    /// Closes it from this side.
    func close() async {
        try? await channel.executeThenClose { _, _ in }
    }
}

@Suite("Admission control: connections that say nothing cannot take the director's descriptors")
struct AdmissionTests {
    @Test("over the caps connections are shed and counted; a real peer from another source still links")
    func capsShedAndARealPeerLinks() async throws {
        let pair = try MirroringPair(
            extra: "limits: { pending_connections: 6, pending_per_source: 3, hello_timeout_ms: 600000 }\n"
        )
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            let port = try #require(pair.listeningPort)
            pair.master.emit(TestConnections.messages(0..<100))
            #expect(await eventually { pair.source.figures.entries == 100 })
            // One source floods: three are let in, the other seven are closed at once.
            var held: [SilentConnection] = []
            for _ in 0..<10 { held.append(try await SilentConnection(port: port, from: "127.0.0.2")) }
            #expect(await eventually { pair.activeCounters["shed.per_source_cap"] == 7 })
            #expect(pair.activeCounters["pending"] == 3)
            // The real standby, from its own address, still gets in while the flood holds its places.
            try await whileRunning([try pair.standbyService()]) {
                #expect(await eventually { pair.converged })
            }
            #expect(await eventually { pair.activeCounters["pending"] == 3 }, "a peer that said hello is not pending")
            // Three more sources fill the global cap: beyond it, every connection is shed, whatever its source.
            for source in ["127.0.0.3", "127.0.0.4"] {
                for _ in 0..<3 { held.append(try await SilentConnection(port: port, from: source)) }
            }
            #expect(await eventually { pair.activeCounters["shed.global_cap"] == 3 })
            #expect(pair.activeCounters["pending"] == 6)
            #expect(pair.activeCounters["refused.handshake_failed"] == 0, "shed connections are not refusals")
            for connection in held { await connection.close() }
            #expect(await eventually { pair.activeCounters["pending"] == 0 }, "closed connections give their places up")
        }
    }

    @Test("a connection that never finishes TLS and hello is closed at the deadline, authenticated or not")
    func helloDeadline() async throws {
        let pair = try MirroringPair(extra: "limits: { hello_timeout_ms: 200 }\n")
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            let port = try #require(pair.listeningPort)
            // Plain TCP, no TLS at all: the server must close it (the test waits for the close, not for a time).
            let silent = try await SilentConnection(port: port)
            await silent.waitForClose()
            #expect(await eventually { pair.activeCounters["shed.hello_timeout"] == 1 })
            // A real certificate, the handshake done, and then no hello: closed the same way.
            let identity = try pair.pki.nodeIdentity("dirb")
            let authenticated = try await SilentConnection(port: port, identity: identity)
            await authenticated.waitForClose()
            #expect(await eventually { pair.activeCounters["shed.hello_timeout"] == 2 })
            #expect(pair.activeCounters["refused.handshake_failed"] == 0, "a deadline is not a refusal")
            #expect(await eventually { pair.activeCounters["pending"] == 0 })
        }
    }

    @Test("the metrics endpoint closes connections over its cap at once, and idle ones at the idle timeout")
    func metricsCapAndIdle() async throws {
        let registry = PrometheusCollectorRegistry()
        let endpoint = try await MetricsEndpoint.bind(
            host: "127.0.0.1",
            port: 0,
            registry: registry,
            limits: MetricsEndpoint.Limits(connections: 2, idleTimeout: .seconds(600)),
            logger: Logger(label: "admission-test")
        )
        let port = try #require(endpoint.localAddress?.port)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            let first = try await SilentConnection(port: port)
            let second = try await SilentConnection(port: port)
            // The third is over the cap: the server closes it without a word.
            let third = try await SilentConnection(port: port)
            await third.waitForClose()
            // One of the two gives its place up; a scrape then gets its answer.
            await first.close()
            var status = 0
            for _ in 0..<100 where status != 200 {
                status =
                    (try? await httpExchange(
                        port: port,
                        request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    ))?
                    .status ?? 0
                if status != 200 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(status == 200)
            await second.close()
            group.cancelAll()
        }
        let idle = try await MetricsEndpoint.bind(
            host: "127.0.0.1",
            port: 0,
            registry: registry,
            limits: MetricsEndpoint.Limits(connections: 2, idleTimeout: .milliseconds(100)),
            logger: Logger(label: "admission-test")
        )
        let idlePort = try #require(idle.localAddress?.port)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await idle.run() }
            let silent = try await SilentConnection(port: idlePort)
            // Closed by the server at its idle timeout (waited for, not timed).
            await silent.waitForClose()
            group.cancelAll()
        }
    }
}
