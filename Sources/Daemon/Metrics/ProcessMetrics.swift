import Foundation
import Prometheus
import Synchronization

/// The process metrics under Prometheus' standard names (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`, `process_start_time_seconds`), read from
/// `/proc/self` before each scrape.
public final class ProcessMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let procSelf: String
    /// The CPU seconds at the last read: the counter is read, not counted up, so each read adds the difference.
    private let cpuSeconds = Mutex<Double>(0)

    /// Publishes into `registry` what `procSelf` (a `/proc/PID` folder) says.
    public init(registry: PrometheusCollectorRegistry, procSelf: String = "/proc/self") {
        self.registry = registry
        self.procSelf = procSelf
    }

    /// The figures of `/proc/PID/stat` this needs, parsed; nil when the text is not such a line.
    struct Stat: Equatable {
        var userTicks: Double
        var systemTicks: Double
        var startTicks: Double
        var virtualBytes: Double
        var residentPages: Double

        init?(_ text: String) {
            // The command name (field 2) is in parentheses and may hold spaces: the fields after it start at the
            // last ")".
            guard let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            // fields[0] is field 3 (state): field N is fields[N - 3].
            guard fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
                let start = Double(fields[19]), let virtual = Double(fields[20]), let resident = Double(fields[21])
            else { return nil }
            (userTicks, systemTicks, startTicks, virtualBytes, residentPages) = (user, system, start, virtual, resident)
        }
    }

    /// Reads `/proc` and sets the gauges (a figure that cannot be read is left as it was).
    public func update() {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let text = try? String(contentsOfFile: procSelf + "/stat", encoding: .utf8), let stat = Stat(text),
            ticks > 0
        {
            let now = (stat.userTicks + stat.systemTicks) / ticks
            let added = cpuSeconds.withLock { last in
                defer { last = max(last, now) }
                return max(0, now - last)
            }
            registry.makeCounter(name: "process_cpu_seconds_total", help: "user and system CPU time").increment(
                by: added
            )
            gauge("process_resident_memory_bytes").set(to: stat.residentPages * page)
            gauge("process_virtual_memory_bytes").set(to: stat.virtualBytes)
            if let boot = Self.bootTime() {
                gauge("process_start_time_seconds").set(to: boot + stat.startTicks / ticks)
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: procSelf + "/fd") {
            gauge("process_open_fds").set(to: Double(fds.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            gauge("process_max_fds").set(to: Double(limit.rlim_cur))
        }
    }

    /// The boot time (Unix seconds) from `/proc/stat`'s `btime` line.
    static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private func gauge(_ name: String) -> Gauge {
        registry.makeGauge(name: name, help: MetricsContract.metric(named: name)?.help ?? name)
    }
}
