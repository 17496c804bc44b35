import IPVS
import SyncWire

/// The rule that keeps the director's own trouble from emptying a service: a pure state machine, fed by the
/// ``IPVSReconciler`` at each convergence with the file's services, the servers that are down and whether the
/// director is in trouble.
///
/// **Where "the director is in trouble" lives.** Each check knows whether its last probe could be made at all
/// (``Health/Checker/Outcome/unknown(latency:reason:)``: no file descriptor, memory, process or source address); the
/// ``HealthMonitor`` gathers that per server and calls the director troubled while any check's last probe was
/// unknown (``HealthMonitor/trouble``). The trouble is the director's, not a service's: a director out of file
/// descriptors cannot trust any of its probes, so the rule reads one reason for all services.
///
/// **The rule**, per service with at least one real server of weight above 0 in the file:
/// - When the verdicts would leave it no live server (every such server down) *and* the director is in trouble at
///   that moment, the service is **suspended**: its servers keep their weights (none of its down verdicts is
///   applied), and ``update(_:down:trouble:)`` reports ``Change/began(_:reason:)`` once.
/// - A suspended service stays suspended while the director is in trouble and the verdicts would still empty it. It
///   ends (``Change/ended(_:)``) when one of its servers is live again (the verdicts apply as usual), or when the
///   trouble is over while every server is still down: the servers are then really down, and quiesced.
/// - A service the verdicts emptied while the director was *not* in trouble is really down: trouble that begins
///   afterwards does not bring its servers back (the rule only refuses to take the last servers down, it never
///   puts a dead server back).
public struct HealthSuspension: Hashable, Sendable {
    /// A change of a service's suspension, for a log line and the `lvsync_health_suspended{service}` gauge.
    public enum Change: Hashable, Sendable {
        /// The verdicts would have taken every server of the service down while the director cannot probe.
        case began(ServiceKey, reason: String)
        /// The suspension is over: the verdicts apply to the service again.
        case ended(ServiceKey)
    }

    /// The suspended services, with the director's trouble that suspended each.
    public private(set) var suspended: [ServiceKey: String] = [:]
    /// Services the verdicts emptied while the director was well: really down.
    private var emptied: Set<ServiceKey> = []

    /// No service suspended.
    public init() {}

    /// Takes the inputs of a convergence: the file's `services`, the servers that are `down`, and the director's
    /// trouble (nil: it probes fine).
    /// - Returns: the suspensions that began or ended, in the services' order.
    public mutating func update(
        _ services: [DesiredService],
        down: Set<ServerRef>,
        trouble: String?
    ) -> [Change] {
        var changes: [Change] = []
        var present: Set<ServiceKey> = []
        for desired in services {
            let key = desired.service.key
            present.insert(key)
            let live = desired.realServers.filter { $0.weight > 0 }
            let empty =
                !live.isEmpty && live.allSatisfy { down.contains(ServerRef(service: key, server: $0.endpoint)) }
            guard empty else {
                emptied.remove(key)
                if suspended.removeValue(forKey: key) != nil { changes.append(.ended(key)) }
                continue
            }
            if suspended[key] != nil {
                if trouble == nil {
                    suspended[key] = nil
                    emptied.insert(key)
                    changes.append(.ended(key))
                }
            } else if !emptied.contains(key) {
                if let trouble {
                    suspended[key] = trouble
                    changes.append(.began(key, reason: trouble))
                } else {
                    emptied.insert(key)
                }
            }
        }
        // A service a reload removed is forgotten.
        for key in suspended.keys where !present.contains(key) {
            suspended[key] = nil
            changes.append(.ended(key))
        }
        emptied.formIntersection(present)
        return changes
    }

    /// The down verdicts that apply: those of servers whose service is not suspended.
    public func applicable(_ down: Set<ServerRef>) -> Set<ServerRef> {
        down.filter { suspended[$0.service] == nil }
    }
}
