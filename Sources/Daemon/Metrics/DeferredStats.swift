import Control
import Synchronization

/// Where the metrics endpoint reads the statistics from: bound before the daemon's parts exist, it has none (an empty
/// object) until the daemon hands over its source.
public final class DeferredStats: Sendable {
    private let source = Mutex<(@Sendable () -> [String: JSONValue])?>(nil)

    /// No source yet.
    public init() {}

    /// From now on, `source` gives the statistics.
    public func become(_ source: @escaping @Sendable () -> [String: JSONValue]) { self.source.withLock { $0 = source } }

    /// The statistics now (empty before ``become(_:)``).
    public func current() -> [String: JSONValue] { source.withLock { $0 }?() ?? [:] }
}
