import Config
import Synchronization

/// The checks the ``HealthService`` runs, replaceable while it runs (a configuration reload). A check whose settings
/// did not change keeps running with its state (a server that is down stays down, its rise count goes on); a new
/// one starts; a removed one stops at its next turn and its server's verdict is forgotten at once.
public final class HealthRoster: Sendable {
    /// A check and the generation it runs under: a check removed and added again is a new generation, so the old
    /// task stops even if it had not noticed the removal yet.
    struct Entry: Hashable, Sendable {
        var check: HealthConfig.RealServerCheck
        var generation: Int
    }

    private struct State {
        var current: [HealthConfig.RealServerCheck: Int] = [:]
        var nextGeneration = 0
        var listeners: [Int: AsyncStream<[Entry]>.Continuation] = [:]
        var nextListener = 0
    }

    private let state = Mutex(State())

    /// Runs `checks` (duplicates once).
    public init(_ checks: [HealthConfig.RealServerCheck] = []) {
        _ = replace(with: checks)
    }

    /// The checks now, in no particular order.
    public var checks: [HealthConfig.RealServerCheck] { state.withLock { Array($0.current.keys) } }

    /// What a replacement did.
    public struct Replacement: Hashable, Sendable {
        /// Checks that start.
        public var added: [HealthConfig.RealServerCheck]
        /// Checks that stop.
        public var removed: [HealthConfig.RealServerCheck]
        /// Checks that go on as they were.
        public var kept: Int
    }

    /// Makes `checks` the running set.
    @discardableResult
    public func replace(with checks: [HealthConfig.RealServerCheck]) -> Replacement {
        let wanted = Set(checks)
        return state.withLock { state in
            let removed = state.current.keys.filter { !wanted.contains($0) }
            for check in removed { state.current[check] = nil }
            var added: [Entry] = []
            for check in checks where state.current[check] == nil {
                state.current[check] = state.nextGeneration
                added.append(Entry(check: check, generation: state.nextGeneration))
                state.nextGeneration += 1
            }
            if !added.isEmpty { for listener in state.listeners.values { listener.yield(added) } }
            return Replacement(
                added: added.map(\.check),
                removed: removed,
                kept: state.current.count - added.count
            )
        }
    }

    /// Whether some running check is for `server`.
    func checks(_ server: ServerRef) -> Bool {
        state.withLock { $0.current.keys.contains { ServerRef($0) == server } }
    }

    /// Whether `entry` is still to run.
    func isCurrent(_ entry: Entry) -> Bool { state.withLock { $0.current[entry.check] == entry.generation } }

    /// The running entries now, and every entry added from now on.
    func subscribe() -> (entries: [Entry], added: AsyncStream<[Entry]>, id: Int) {
        let (stream, continuation) = AsyncStream<[Entry]>.makeStream()
        return state.withLock { state in
            let id = state.nextListener
            state.nextListener += 1
            state.listeners[id] = continuation
            let entries = state.current.map { Entry(check: $0.key, generation: $0.value) }
            return (entries, stream, id)
        }
    }

    /// Ends a subscription.
    func unsubscribe(_ id: Int) {
        state.withLock { $0.listeners.removeValue(forKey: id) }?.finish()
    }
}
