import Config
import Control
import Health
import Synchronization

/// What the health checks say now, per real server: the status, why, since when, the last probe's latency. Read by
/// `lvsync status` (the servers that are down and why), the stats line and the metrics; written by the
/// ``HealthService``.
public final class HealthMonitor: Sendable {
    /// One server's verdict.
    public struct Verdict: Hashable, Sendable {
        /// The check's verdict.
        public var status: Checker.Status
        /// Why (the outcome that decided it).
        public var reason: String
        /// What was probed (`http://10.0.0.21:80/health`).
        public var check: String
        /// When the status last changed.
        public var since: ContinuousClock.Instant
        /// The last probe's latency.
        public var latency: Duration
    }

    private let state = Mutex<
        (verdicts: [ServerRef: Verdict], changes: Int, recovered: [ServerRef: ContinuousClock.Instant])
    >(
        ([:], 0, [:])
    )
    /// The servers whose check's last probe could not be made (the director's own trouble), with the reason.
    private let unknown = Mutex<[ServerRef: String]>([:])

    /// Nothing known yet.
    public init() {}

    /// Every server with a check.
    public var verdicts: [ServerRef: Verdict] { state.withLock { $0.verdicts } }

    /// The servers whose check says down.
    public var down: Set<ServerRef> { Set(state.withLock { $0.verdicts.filter { $0.value.status == .down }.keys }) }

    /// The director's own trouble: the reason a probe could not be made ("too many open files"), while the last
    /// probe of any check was ``Health/Checker/Outcome/unknown(latency:reason:)``; nil when every check's last probe
    /// was made. The ``HealthSuspension`` rule reads it: a director in trouble never takes the last live servers of a
    /// service down.
    public var trouble: String? {
        unknown.withLock { unknown in unknown.min { $0.key < $1.key }?.value }
    }

    /// Records whether the last probe of `server`'s check was unknown (`reason`) or made (nil).
    /// - Returns: whether the director's trouble began or ended with it (the policy must be applied again).
    @discardableResult
    public func noteProbe(_ server: ServerRef, unknown reason: String?) -> Bool {
        unknown.withLock { unknown in
            let before = unknown.isEmpty
            unknown[server] = reason
            return before != unknown.isEmpty
        }
    }

    /// Changes of status so far.
    public var changes: Int { state.withLock { $0.changes } }

    /// The servers back from down whose ramp is not over, with the share of it that has passed (0 to 1).
    /// - Parameter ramps: each server's ramp-up duration (servers without one are never ramping).
    public func ramping(_ ramps: [ServerRef: Duration], now: ContinuousClock.Instant = .now) -> [ServerRef: Double] {
        var result: [ServerRef: Double] = [:]
        for (ref, since) in state.withLock({ $0.recovered }) {
            guard let ramp = ramps[ref], ramp > .zero else { continue }
            let share = (now - since) / ramp
            if share < 1 { result[ref] = share }
        }
        return result
    }

    /// Records a change of a server's verdict (the first verdict included).
    func record(_ server: ServerRef, _ verdict: Verdict) {
        state.withLock {
            let before = $0.verdicts[server]?.status
            $0.verdicts[server] = verdict
            $0.changes += 1
            // Only a server that was down ramps; one seen up for the first time has its weight already.
            if verdict.status == .up, before == .down {
                $0.recovered[server] = verdict.since
            } else if verdict.status != .up {
                $0.recovered[server] = nil
            }
        }
    }

    /// Forgets servers that have no check any more (a reload removed it).
    func forget(_ servers: Set<ServerRef>) {
        guard !servers.isEmpty else { return }
        state.withLock {
            for server in servers {
                $0.verdicts[server] = nil
                $0.recovered[server] = nil
            }
        }
        unknown.withLock { for server in servers { $0[server] = nil } }
    }

    /// The stats fields: `health.servers`, `health.servers_down`, `health.changes`.
    public var statsFields: [String: JSONValue] {
        let (verdicts, changes) = state.withLock { ($0.verdicts, $0.changes) }
        return [
            "health.servers": .integer(Int64(verdicts.count)),
            "health.servers_down": .integer(Int64(verdicts.values.filter { $0.status == .down }.count)),
            "health.changes": .integer(Int64(changes)),
        ]
    }

    /// The servers that are down, for `lvsync status`: `{"server", "service", "check", "reason", "seconds"}`.
    public var downList: JSONValue {
        let now = ContinuousClock.now
        let rows = verdicts.filter { $0.value.status == .down }.sorted { $0.key < $1.key }.map { ref, verdict in
            let seconds = now - verdict.since
            return JSONValue.object([
                "server": .string("\(ref.server)"), "service": .string("\(ref.service)"),
                "check": .string(verdict.check), "reason": .string(verdict.reason),
                "seconds": .number((seconds / .seconds(1) * 10).rounded() / 10),
            ])
        }
        return .array(rows)
    }
}
