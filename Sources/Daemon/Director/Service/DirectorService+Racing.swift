import Failover
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire

/// Running a piece of work only while something holds: until the director's mirroring moves on to another role.
extension DirectorService {
    /// Runs `body` until it returns, or until the director's mirroring moves on from `generation` (then cancels it
    /// and returns nil).
    func whileGeneration<T: Sendable>(
        _ generation: Int,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        try await race(body) { director.mirroring.generation != generation }
    }

    func race<T: Sendable>(
        _ body: @escaping @Sendable () async throws -> T,
        until changed: @escaping @Sendable () -> Bool
    ) async throws -> T? {
        let changes = director.changes
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let (id, wakeups) = changes.subscribe()
                defer { changes.unsubscribe(id) }
                for await _ in wakeups where changed() { return nil }
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// Runs `body` until it ends or `until` returns, whichever is first: `body`'s result, or nil.
    func raceToEnd<T: Sendable>(
        _ body: @escaping @Sendable () async throws -> T,
        until: @escaping @Sendable () async -> Void
    ) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                await until()
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}
