/// Why a connection was closed before it could say hello.
public enum ShedReason: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// As many connections as the global cap were already pending.
    case globalCap = "global_cap"
    /// As many connections from the same source address as the per-source cap were already pending.
    case perSourceCap = "per_source_cap"
    /// The connection did not finish its TLS handshake and its hello within the deadline.
    case helloTimeout = "hello_timeout"
    /// An idle connection (the metrics endpoint): no request within the idle timeout.
    case idleTimeout = "idle_timeout"

    /// The counter label: `global_cap`, `per_source_cap`, `hello_timeout`, `idle_timeout`.
    public var description: String { rawValue }
}

/// The admission rule for connections that have not proven anything yet: at most `maximum` pending at a time, and at
/// most `maximumPerSource` from one source address. Pure (the caller holds it under a lock): a connection is admitted
/// or shed when it is accepted, and released once when it has proven itself (a peer's hello) or closed.
public struct PendingAdmissions: Hashable, Sendable {
    /// The global cap.
    public let maximum: Int
    /// The per-source cap.
    public let maximumPerSource: Int
    /// Connections admitted and not yet released.
    public private(set) var pending = 0
    private var bySource: [String: Int] = [:]

    /// Caps of `maximum` pending connections in all and `maximumPerSource` from one source (each at least 1).
    public init(maximum: Int, maximumPerSource: Int) {
        self.maximum = max(1, maximum)
        self.maximumPerSource = max(1, min(maximumPerSource, maximum))
    }

    /// Pending connections from `source`.
    public func pending(from source: String) -> Int { bySource[source, default: 0] }

    /// A connection from `source` was accepted: admitted (nil) and counted, or shed with the reason.
    public mutating func admit(source: String) -> ShedReason? {
        guard pending < maximum else { return .globalCap }
        guard bySource[source, default: 0] < maximumPerSource else { return .perSourceCap }
        pending += 1
        bySource[source, default: 0] += 1
        return nil
    }

    /// An admitted connection from `source` proved itself or closed (call once per admitted connection).
    public mutating func release(source: String) {
        guard let count = bySource[source], count > 0 else { return }
        pending -= 1
        bySource[source] = count == 1 ? nil : count - 1
    }
}
