import Config
import Foundation
import IPVS
import LVSyncTestSupport
import Prometheus
import SyncWire
import Testing

@testable import Daemon

/// The metrics contract: what is served is in it, and what the README, the dashboard and the alert rules name is in it.
@Suite("The metrics contract")
struct MetricsContractTests {
    /// The repository's root (this file is Tests/DaemonTests/MetricsContractTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Every `lvsync_*` or `process_*` metric name in `text`, a histogram's series named by the histogram.
    static func names(in text: String, prefixes: [String] = ["lvsync_", "process_"]) -> Set<String> {
        var found: Set<String> = []
        let pattern = try! Regex("(lvsync|process)_[a-z0-9_]+")
        for match in text.matches(of: pattern) {
            var name = String(text[match.range])
            guard prefixes.contains(where: { name.hasPrefix($0) }) else { continue }
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                if let histogram = MetricsContract.metric(named: name), histogram.kind == .histogram {
                    name = histogram.name
                }
            }
            found.insert(name)
        }
        return found
    }

    static let contract = Set(MetricsContract.metrics.map(\.name))
    static let deprecated = Set(MetricsContract.deprecated.map(\.name))

    @Test("the contract: unique names, counters end in _total and nothing else does, base units only")
    func wellFormed() {
        #expect(Self.contract.count == MetricsContract.metrics.count)
        for metric in MetricsContract.metrics {
            #expect((metric.kind == .counter) == metric.name.hasSuffix("_total"), "\(metric.name)")
            #expect(!metric.name.contains("_ms"), "\(metric.name): seconds, not milliseconds")
            #expect(!metric.name.hasSuffix("_per_s"), "\(metric.name): a rate is rate()'s business")
        }
        #expect(Self.contract.isDisjoint(with: Self.deprecated))
    }

    @Test("every metric the daemon's sources make is in the contract")
    func sourcesMakeOnlyContractMetrics() throws {
        let sources = Self.root.appendingPathComponent("Sources/Daemon")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") && !$0.hasSuffix("MetricsContract.swift") }
        var made: Set<String> = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            // Metrics made through swift-metrics (label:) or on the registry (name:), and the StatsMetrics table.
            for match in text.matches(of: try Regex(#"(label|name): "((lvsync|process)_[a-z0-9_]+)""#)) {
                made.insert(String(match.output[2].substring!))
            }
        }
        let stats = Set(StatsMetrics.exports.values.map(\.name) + StatsMetrics.standbyExports.values.map(\.name))
        made.formUnion(stats)
        #expect(made.count > 30)
        #expect(made.subtracting(Self.contract).subtracting(Self.deprecated).isEmpty)
        #expect(stats.isSubset(of: Self.contract))
    }

    @Test("a daemon's scrape: the contract's names and the deprecated ones only; build, process and IPVS metrics")
    func scrape() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        var file = TestDirectorFile(node: "dira", listen: ports[0], peers: [("dirb", 1)])
        file.role = "active"
        file.extra = """
            metrics: { listen: 127.0.0.1:\(ports[1]) }
            virtual_services:
              - protocol: tcp
                address: 10.0.0.100
                port: 80
                real_servers:
                  - { address: 10.0.0.21, forwarding: dr, weight: 2 }

            """
        let host = InMemoryHost()
        let registry = PrometheusCollectorRegistry()
        let daemon = try LVSyncDaemon(
            file: try LVSyncConfig(yaml: try file.yaml(pki: pki), file: "test.yaml"),
            path: "test.yaml",
            host: host.host,
            registry: registry,
            logger: quietLogger
        )
        let run = Task { try await daemon.run() }
        defer { run.cancel() }
        #expect(await eventually { daemon.director.director.source != nil })
        let body = try await httpExchange(
            port: ports[1],
            request: "GET /metrics HTTP/1.1\r\nHost: lvsync\r\nConnection: close\r\n\r\n"
        ).body
        let served = samples(body)
        let names = Self.names(in: body)
        #expect(names.subtracting(Self.contract).subtracting(Self.deprecated).isEmpty)
        #expect(served[#"lvsync_build_info{version="\#(BuildInfo.version)",revision="unknown"}"#] == 1)
        #expect(served[#"lvsync_ipvs_server_weight{service="tcp 10.0.0.100:80",server="10.0.0.21:80"}"#] == 2)
        #expect(served[#"lvsync_ipvs_service_connections_total{service="tcp 10.0.0.100:80"}"#] == 0)
        #expect((served["process_open_fds"] ?? 0) > 3)
        #expect((served["process_resident_memory_bytes"] ?? 0) > 1_000_000)
        #expect((served["process_start_time_seconds"] ?? 0) > 1_700_000_000)
        #expect(served[#"lvsync_election_role{role="active"}"#] == 1)
        #expect(served["lvsync_mirror_entries"] == 0)
    }

    @Test("the kernel's IPVS counters as they are: grown, zeroed (ipvsadm -Z: a reset), a service gone with its series")
    func ipvsCounters() throws {
        let ipvs = InMemoryIPVS()
        let key = ServiceKey.address(.tcp, Endpoint("10.0.0.100:80")!)
        try ipvs.addService(VirtualService(key: key, scheduler: "rr"))
        try ipvs.addRealServer(RealServer(endpoint: Endpoint("10.0.0.21:80")!, forwarding: .directRoute), to: key)
        let registry = PrometheusCollectorRegistry()
        let metrics = IPVSMetrics(registry: registry, ipvs: ipvs, logger: quietLogger)
        func read() -> [String: Double] {
            metrics.update()
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return samples(String(decoding: bytes, as: UTF8.self))
        }
        let connections = #"lvsync_ipvs_service_connections_total{service="tcp 10.0.0.100:80"}"#
        let weight = #"lvsync_ipvs_server_weight{service="tcp 10.0.0.100:80",server="10.0.0.21:80"}"#
        var statistics = IPVSStatistics()
        statistics.connections = 10
        ipvs.setStatistics(statistics, of: key)
        #expect(read()[connections] == 10)
        statistics.connections = 15
        ipvs.setStatistics(statistics, of: key)
        #expect(read()[connections] == 15)
        try ipvs.zeroCounters(key)
        #expect(read()[connections] == 0)
        statistics.connections = 3
        ipvs.setStatistics(statistics, of: key)
        let after = read()
        #expect(after[connections] == 3)
        #expect(after[weight] == 1)
        try ipvs.deleteService(key)
        let gone = read()
        #expect(gone[connections] == nil)
        #expect(gone[weight] == nil)
    }

    @Test("the README's metrics table lists the contract, no more and no less")
    func readme() throws {
        let text = try Self.read("README.md")
        let table = text.split(separator: "\n").filter { $0.hasPrefix("| `lvsync_") || $0.hasPrefix("| `process_") }
            .map { String($0.split(separator: "|").first ?? "") }
            .joined(separator: "\n")
        #expect(Self.names(in: table) == Self.contract)
        for old in Self.deprecated { #expect(text.contains("`\(old)`"), "\(old) is not listed as deprecated") }
    }

    @Test("the dashboard and the alert rules name only the contract's metrics")
    func dashboardAndAlerts() throws {
        for path in ["ops/grafana/lvsync.json", "ops/prometheus/lvsync-alerts.yaml"] {
            let names = Self.names(in: try Self.read(path))
            #expect(names.count >= 8, "\(path) names \(names.count) metrics")
            #expect(names.subtracting(Self.contract).isEmpty, "\(path): \(names.subtracting(Self.contract))")
        }
        // Every panel has a query.
        let dashboard = try JSONSerialization.jsonObject(with: Data(try Self.read("ops/grafana/lvsync.json").utf8))
        let panels = try #require((dashboard as? [String: Any])?["panels"] as? [[String: Any]])
        for panel in panels where panel["type"] as? String != "row" {
            let targets = panel["targets"] as? [[String: Any]] ?? []
            let expressions = targets.compactMap { $0["expr"] as? String }
            #expect(!expressions.isEmpty, "panel '\(panel["title"] ?? "?")' has no query")
            for expression in expressions {
                #expect(!Self.names(in: expression).isEmpty, "'\(expression)' names no lvsync metric")
            }
        }
    }
}

/// The process metrics' reading of `/proc/PID/stat`.
@Suite("process metrics")
struct ProcessMetricsTests {
    @Test("a stat line whose command name has blanks and parentheses: the fields after the last ')'")
    func statLine() throws {
        let line =
            "4242 (lvsync (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 5000 "
            + "848674816 12000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let stat = try #require(ProcessMetrics.Stat(line))
        #expect(stat.userTicks == 250)
        #expect(stat.systemTicks == 75)
        #expect(stat.startTicks == 5000)
        #expect(stat.virtualBytes == 848_674_816)
        #expect(stat.residentPages == 12000)
        #expect(ProcessMetrics.Stat("4242 (lvsync) S 1 2") == nil)
        #expect(ProcessMetrics.Stat("no parenthesis") == nil)
    }
}
