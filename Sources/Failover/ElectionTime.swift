/// A point in time for the election: the time since an origin the driver chooses (its process start, say). The
/// machine reads no clock; every event carries the time, so tests control it to the nanosecond.
public struct ElectionTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The time since the origin.
    public var sinceOrigin: Duration

    /// A time this long after the origin.
    public init(_ sinceOrigin: Duration) { self.sinceOrigin = sinceOrigin }

    /// The origin itself.
    public static let origin = ElectionTime(.zero)

    /// A time this many milliseconds after the origin.
    public static func milliseconds(_ milliseconds: Int64) -> ElectionTime { ElectionTime(.milliseconds(milliseconds)) }

    /// A time this many nanoseconds after the origin.
    public static func nanoseconds(_ nanoseconds: Int64) -> ElectionTime { ElectionTime(.nanoseconds(nanoseconds)) }

    /// The time `duration` after `time`.
    public static func + (time: ElectionTime, duration: Duration) -> ElectionTime {
        ElectionTime(time.sinceOrigin + duration)
    }

    /// How long after `earlier` `later` is (negative when it is before).
    public static func - (later: ElectionTime, earlier: ElectionTime) -> Duration {
        later.sinceOrigin - earlier.sinceOrigin
    }

    public static func < (lhs: ElectionTime, rhs: ElectionTime) -> Bool { lhs.sinceOrigin < rhs.sinceOrigin }

    public var description: String { "t+\(sinceOrigin)" }
}
