import HostNetwork

#if canImport(Glibc)
    import Glibc
#endif

/// One reading of a failover health condition (`ipvs`, `sync-interface`, `interface:NAME`).
public enum ConditionReading: Equatable, Sendable {
    /// The condition holds.
    case holds
    /// The condition fails: the interface is down, the kernel did not answer.
    case fails(String)
    /// The director could not tell, for its own reasons (it ran out of descriptors or memory): not a verdict on
    /// the condition, which keeps its last one. A director short of descriptors that reported its interface down
    /// would fail over for nothing, and flap.
    case unknown(String)

    /// Whether `errno` is the director's own trouble rather than the answer to the question asked: a resource
    /// shortage (``HostNetworkError/isResourceShortage(_:)``) or a call to try again (`EAGAIN`, `EINTR`).
    public static func isOwnTrouble(errno: Int32) -> Bool {
        HostNetworkError.isResourceShortage(errno) || errno == EAGAIN || errno == EINTR
    }
}

/// A condition's readings turned into the election's verdicts: a failing reading fails it only after
/// `failuresToFail` in a row (one lost netlink answer is not a fault), a holding one restores it at once, and an
/// unknown reading changes nothing. Pure.
public struct ConditionVerdict: Sendable {
    /// Consecutive failing readings that fail the condition.
    public let failuresToFail: Int
    /// The verdict: the condition holds.
    public private(set) var holds = true
    private var failures = 0

    /// A condition that holds, and fails after `failuresToFail` failing readings in a row.
    public init(failuresToFail: Int) {
        self.failuresToFail = max(1, failuresToFail)
    }

    /// Takes one reading; returns the new verdict when it changed.
    public mutating func observe(_ reading: ConditionReading) -> Bool? {
        switch reading {
        case .unknown:
            return nil
        case .holds:
            failures = 0
            guard !holds else { return nil }
            holds = true
            return true
        case .fails:
            failures += 1
            guard holds, failures >= failuresToFail else { return nil }
            holds = false
            return false
        }
    }
}
