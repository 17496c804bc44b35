import Foundation
import Synchronization

/// A flag a blocking loop polls to learn that it should stop.
public final class StopFlag: Sendable {
    private let value = Atomic(false)

    /// Creates a lowered flag.
    public init() {}

    /// Whether the loop should stop.
    public var isRaised: Bool { value.load(ordering: .acquiring) }

    /// Asks the loop to stop.
    public func raise() { value.store(true, ordering: .releasing) }
}

/// Runs a blocking loop (a capture socket's receive loop) on a thread of its own, so that it never occupies one of
/// Swift concurrency's few cooperative threads; cancelling the calling task raises the loop's stop flag.
func runOnOwnThread(
    named name: String,
    _ body: @escaping @Sendable (StopFlag) throws -> Void
) async throws {
    let stop = StopFlag()
    try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                do {
                    try body(stop)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = name
            thread.start()
        }
    } onCancel: {
        stop.raise()
    }
}
