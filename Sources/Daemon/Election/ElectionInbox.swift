import HostNetwork
import Synchronization

/// The election's events, posted from any thread or task, taken by the election's own thread: a queue and a
/// ``Wakeup`` that ends the thread's wait at once, so that an event reaches the election in microseconds whatever
/// Swift concurrency's threads are busy with.
public final class ElectionInbox: Sendable {
    private struct State {
        var events: [ElectionEvent] = []
        var closed = false
        var cancelled = false
    }

    private let state = Mutex(State())
    /// Signalled on every post, and on cancellation; nil when the pipe could not be made (the election's
    /// ``ElectionDriver/run()`` then refuses to start, with the reason).
    let wakeup: Wakeup?
    /// Why there is no wake-up pipe.
    let wakeupError: HostNetworkError?

    /// An empty inbox.
    public init() {
        do {
            wakeup = try Wakeup()
            wakeupError = nil
        } catch {
            wakeup = nil
            wakeupError = error
        }
    }

    /// Queues `event` for the election (dropped once the inbox is closed).
    public func post(_ event: ElectionEvent) {
        let wake = state.withLock { state in
            guard !state.closed else { return false }
            state.events.append(event)
            return state.events.count == 1
        }
        if wake { wakeup?.signal() }
    }

    /// Takes every event queued, oldest first; none once cancelled (a crash says nothing more).
    func take() -> [ElectionEvent] {
        wakeup?.clear()
        return state.withLock { state in
            defer { state.events.removeAll(keepingCapacity: true) }
            return state.cancelled ? [] : state.events
        }
    }

    /// Nobody listens (a role fixed by the configuration): later events are dropped, not kept.
    func close() {
        state.withLock {
            $0.closed = true
            $0.events = []
        }
    }

    /// Tells the election's thread to end at once, without a word to the peers (its task was cancelled).
    func cancel() {
        state.withLock { $0.cancelled = true }
        wakeup?.signal()
    }

    /// Whether ``cancel()`` was called.
    var isCancelled: Bool { state.withLock { $0.cancelled } }
}
