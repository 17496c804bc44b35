import Control
import CoreMetrics
import Daemon
import Foundation
import LVSyncTestSupport
import Logging
import NIOCore
import NIOPosix
import Prometheus
import Testing

/// Runs blocking `work` on a thread of its own: blocked cooperative threads (two on these machines) would starve the
/// servers under test.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// A plain HTTP/1.1 exchange over a real TCP connection to 127.0.0.1: the request's bytes as given, the response read
/// to the server's close.
func httpExchange(port: Int, request: String) async throws -> (status: Int, headers: String, body: String) {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    let received = try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: request))
        var bytes: [UInt8] = []
        for try await buffer in inbound { bytes += buffer.readableBytesView }
        return bytes
    }
    let text = String(decoding: received, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    let head = parts.first ?? ""
    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, head, parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// The samples of a Prometheus text exposition: `name{labels}` → value.
func samples(_ exposition: String) -> [String: Double] {
    var result: [String: Double] = [:]
    for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            continue
        }
        result[String(line[..<space])] = value
    }
    return result
}

@Suite("The Prometheus endpoint (a real HTTP scrape on loopback)")
struct MetricsTests {
    let logger = Logger(label: "metrics-test")

    @Test("a scrape serves the stats as the contract's metrics, the 0.4 names beside them; counters never go down")
    func scrape() async throws {
        let registry = PrometheusCollectorRegistry()
        let stats = StatsMetrics(registry: registry)
        let figures = FiguresBox()
        figures.value = [
            "election.role": "standby", "sync.role": "standby", "sync.entries": 120, "sync.kernel_messages": 4,
            "mirror.size": 100,
            "sync.lag_ms_p99": 0.75, "sync.position": "ab/12", "sync.entries_per_s": 9, "peer.opened": 3,
        ]
        let endpoint = try await MetricsEndpoint.bind(
            host: "127.0.0.1",
            port: 0,
            registry: registry,
            refresh: { stats.update(from: figures.value) },
            logger: logger
        )
        let port = try #require(endpoint.localAddress?.port)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            let first = try await httpExchange(
                port: port,
                request: "GET /metrics HTTP/1.1\r\nHost: lvsync\r\nConnection: close\r\n\r\n"
            )
            #expect(first.status == 200)
            #expect(first.headers.contains("text/plain; version=0.0.4"))
            let one = samples(first.body)
            #expect(one["lvsync_sync_injected_entries_total"] == 120)
            #expect(one["lvsync_sync_captured_entries_total"] == nil)
            #expect(one["lvsync_sync_kernel_messages_total"] == 4)
            #expect(one["lvsync_mirror_entries"] == 100)
            // The deprecated 0.4 names, for one release.
            #expect(one["lvsync_sync_entries_total"] == 120)
            #expect(one["lvsync_mirror_size"] == 100)
            #expect(one["lvsync_sync_lag_ms_p99"] == 0.75)
            #expect(
                first.body.contains(
                    "# HELP lvsync_mirror_size DEPRECATED (goes in the next release): use lvsync_mirror_entries"
                )
            )
            #expect(one[#"lvsync_election_role{role="standby"}"#] == 1)
            #expect(one[#"lvsync_election_role{role="active"}"#] == 0)
            #expect(one["lvsync_sync_entries_per_s"] == nil)
            #expect(one["lvsync_peer_opened"] == nil)
            #expect(first.body.contains("# TYPE lvsync_sync_injected_entries_total counter"))
            #expect(first.body.contains("# TYPE lvsync_mirror_entries gauge"))

            // A change of role: the new side counts from zero; the counter goes on from 120.
            figures.value = ["election.role": "active", "sync.role": "active", "sync.entries": 30, "mirror.size": 101]
            let second = samples(
                try await httpExchange(
                    port: port,
                    request: "GET /metrics HTTP/1.1\r\nHost: lvsync\r\nConnection: close\r\n\r\n"
                ).body
            )
            #expect(second["lvsync_sync_captured_entries_total"] == 30)
            #expect(second["lvsync_sync_injected_entries_total"] == 120)
            #expect(second["lvsync_sync_entries_total"] == 150)
            #expect(second["lvsync_mirror_entries"] == 101)
            #expect(second[#"lvsync_election_role{role="active"}"#] == 1)
            #expect(second[#"lvsync_election_role{role="standby"}"#] == 0)

            let missing = try await httpExchange(
                port: port,
                request: "GET /other HTTP/1.1\r\nHost: lvsync\r\nConnection: close\r\n\r\n"
            )
            #expect(missing.status == 404)
            let post = try await httpExchange(
                port: port,
                request: "POST /metrics HTTP/1.1\r\nHost: lvsync\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
            )
            #expect(post.status == 405)
            let garbage = try await httpExchange(port: port, request: "\u{1}\u{2} not http at all\r\n\r\n")
            #expect(garbage.status == 400)
            // The endpoint still serves after all that.
            let again = try await httpExchange(
                port: port,
                request: "GET /metrics HTTP/1.1\r\nHost: lvsync\r\nConnection: close\r\n\r\n"
            )
            #expect(again.status == 200)
            group.cancelAll()
        }
    }

    @Test("the stats and the counters the daemon keeps itself share one registry without a name conflict")
    func noConflicts() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        // What HealthService and PeerCounters make through swift-metrics.
        factory.makeCounter(
            label: "lvsync_health_changes_total",
            dimensions: [("service", "tcp 10.0.0.100:80"), ("server", "10.0.0.21:80"), ("to", "down")]
        ).increment(by: 1)
        factory.makeCounter(label: "lvsync_peer_links_opened_total", dimensions: []).increment(by: 1)
        StatsMetrics(registry: registry).update(from: [
            "health.changes": 3, "health.servers": 2, "health.servers_down": 1, "peer.opened": 1,
            "sync.entries_per_s": 10, "election.role": "active",
        ])
        let text = registry.emitToString()
        let parsed = samples(text)
        #expect(parsed["lvsync_health_servers_down"] == 1)
        #expect(
            parsed[#"lvsync_health_changes_total{service="tcp 10.0.0.100:80",server="10.0.0.21:80",to="down"}"#] == 1
        )
    }

    @Test("a busy address is refused with a sentence that names it")
    func busyAddress() async throws {
        let registry = PrometheusCollectorRegistry()
        let first = try await MetricsEndpoint.bind(host: "127.0.0.1", port: 0, registry: registry, logger: logger)
        let port = try #require(first.localAddress?.port)
        await #expect {
            _ = try await MetricsEndpoint.bind(host: "127.0.0.1", port: port, registry: registry, logger: logger)
        } throws: { error in
            "\(error)".contains("cannot listen for metrics scrapes on 127.0.0.1:\(port)")
        }
        await first.close()
    }
}

/// A stats object the test changes between scrapes.
final class FiguresBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String: JSONValue] = [:]
    var value: [String: JSONValue] {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
