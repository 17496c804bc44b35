import IPVS
import Logging
import Prometheus
import Synchronization

/// The kernel's IPVS traffic per virtual service and per real server (`lvsync_ipvs_*` of the ``MetricsContract``),
/// read from the kernel over generic netlink before each scrape: what `ipvsadm -Ln --stats` shows, as the keepalived
/// exporters serve it. The kernel's totals are served as they are (a counter goes back to zero when the kernel's
/// does: `ipvsadm -Z`, a service deleted and added again); the series of a service or server that left the kernel go
/// with it.
public final class IPVSMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let ipvs: any IPVSControl
    private let logger: Logger
    /// The series served at the last read, to unregister those that left the kernel.
    private let served = Mutex<(counters: [String: (counter: Counter, value: UInt64)], gauges: [String: Gauge])>(
        ([:], [:])
    )

    /// Reads `ipvs` into `registry`.
    public init(registry: PrometheusCollectorRegistry, ipvs: any IPVSControl, logger: Logger) {
        self.registry = registry
        self.ipvs = ipvs
        self.logger = logger
    }

    /// Reads the kernel's services and servers and brings the series up to date; a failed read leaves them as they
    /// were (and is logged at debug: the `ipvs` health condition reports a kernel that does not answer).
    public func update() {
        var counters: [String: (name: String, labels: [(String, String)], value: UInt64)] = [:]
        var gauges: [String: (name: String, labels: [(String, String)], value: Double)] = [:]
        func counter(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
            counters[Self.key(name, labels)] = (name, labels, value)
        }
        func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
            gauges[Self.key(name, labels)] = (name, labels, value)
        }
        do throws(IPVSError) {
            for status in try ipvs.services() {
                let service = [("service", "\(status.service.key)")]
                let s = status.statistics
                counter("lvsync_ipvs_service_connections_total", service, s.connections)
                counter("lvsync_ipvs_service_packets_total", service + [("direction", "in")], s.inPackets)
                counter("lvsync_ipvs_service_packets_total", service + [("direction", "out")], s.outPackets)
                counter("lvsync_ipvs_service_bytes_total", service + [("direction", "in")], s.inBytes)
                counter("lvsync_ipvs_service_bytes_total", service + [("direction", "out")], s.outBytes)
                for server in try ipvs.realServers(of: status.service.key) {
                    let labels = service + [("server", "\(server.server.endpoint)")]
                    let t = server.statistics
                    counter("lvsync_ipvs_server_connections_total", labels, t.connections)
                    counter("lvsync_ipvs_server_bytes_total", labels + [("direction", "in")], t.inBytes)
                    counter("lvsync_ipvs_server_bytes_total", labels + [("direction", "out")], t.outBytes)
                    gauge("lvsync_ipvs_server_active_connections", labels, Double(server.activeConnections))
                    gauge("lvsync_ipvs_server_inactive_connections", labels, Double(server.inactiveConnections))
                    gauge("lvsync_ipvs_server_weight", labels, Double(server.server.weight))
                }
            }
        } catch {
            logger.debug("the IPVS metrics could not be read", metadata: ["error": "\(error)"])
            return
        }
        served.withLock { served in
            var nextCounters: [String: (counter: Counter, value: UInt64)] = [:]
            for (key, series) in counters {
                let made = registry.makeCounter(name: series.name, labels: series.labels, help: Self.help(series.name))
                // The kernel's total as it is: what it grew by since the last read; a total that went down (zeroed,
                // the service made again) is a reset, then the new total.
                let before = served.counters[key]?.value ?? 0
                if series.value >= before {
                    made.increment(by: Int64(clamping: series.value - before))
                } else {
                    made.reset()
                    made.increment(by: Int64(clamping: series.value))
                }
                nextCounters[key] = (made, series.value)
            }
            var nextGauges: [String: Gauge] = [:]
            for (key, series) in gauges {
                let made = registry.makeGauge(name: series.name, labels: series.labels, help: Self.help(series.name))
                made.set(to: series.value)
                nextGauges[key] = made
            }
            for (key, gone) in served.counters where nextCounters[key] == nil {
                registry.unregisterCounter(gone.counter)
            }
            for (key, gone) in served.gauges where nextGauges[key] == nil { registry.unregisterGauge(gone) }
            served = (nextCounters, nextGauges)
        }
    }

    static func key(_ name: String, _ labels: [(String, String)]) -> String {
        name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
    }

    static func help(_ name: String) -> String { MetricsContract.metric(named: name)?.help ?? name }
}
