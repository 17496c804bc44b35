import Foundation

/// How close a certificate is to the end of its validity, as pure functions of its `notValidAfter` and the time:
/// the daemon's gauge, its warnings and `lvsync certs show` all use these.
///
/// Less than ``warningThreshold`` (30 days) left is a ``Level/warning``, less than ``errorThreshold`` (7 days) an
/// ``Level/error``, past its end ``Level/expired``. A log line for a level is repeated once a day (``logInterval``),
/// or at once when the level gets worse, never per heartbeat; ``nextCheck(notValidAfter:now:interval:)`` says when
/// to look again so that a level is noticed when it starts, not up to an interval later.
public enum CertificateExpiry {
    /// How urgent a renewal is.
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        /// More than 30 days left.
        case fine
        /// Less than 30 days left.
        case warning
        /// Less than 7 days left.
        case error
        /// Past its end: peers refuse it, the link carries adverts only.
        case expired

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        /// `fine`, `warning`, `error`.
        public var description: String {
            switch self {
            case .fine: "fine"
            case .warning: "warning"
            case .error: "error"
            case .expired: "expired"
            }
        }
    }

    /// Below this many seconds left, a warning: 30 days.
    public static let warningThreshold: TimeInterval = 30 * 86_400
    /// Below this many seconds left, an error: 7 days.
    public static let errorThreshold: TimeInterval = 7 * 86_400
    /// A warning or error is logged again after this long: a day.
    public static let logInterval: TimeInterval = 86_400

    /// The seconds from `now` to `notValidAfter`: negative once the certificate expired.
    public static func secondsLeft(notValidAfter: Date, now: Date) -> Double {
        notValidAfter.timeIntervalSince(now)
    }

    /// The whole days left (rounded down: 0 on its last day, -1 on the day after it expired).
    public static func daysLeft(notValidAfter: Date, now: Date) -> Int {
        Int((secondsLeft(notValidAfter: notValidAfter, now: now) / 86_400).rounded(.down))
    }

    /// The urgency at `now`.
    public static func level(notValidAfter: Date, now: Date) -> Level {
        let left = secondsLeft(notValidAfter: notValidAfter, now: now)
        if left < 0 { return .expired }
        if left < errorThreshold { return .error }
        if left < warningThreshold { return .warning }
        return .fine
    }

    /// Whether a line for `level` is due at `now`, when the last line was logged at `last` (nil: none yet): never for
    /// ``Level/fine``; otherwise the first time, when the level got worse, or a ``logInterval`` after the last line.
    public static func isLogDue(_ level: Level, now: Date, last: (at: Date, level: Level)?) -> Bool {
        guard level > .fine else { return false }
        guard let last else { return true }
        return level > last.level || now.timeIntervalSince(last.at) >= logInterval
    }

    /// The seconds from `now` until the certificate should be looked at again: the next moment its level changes
    /// (30 days, 7 days, the end; one second past it) or `interval`, whichever comes first, and at least a second.
    public static func nextCheck(notValidAfter: Date, now: Date, interval: TimeInterval) -> TimeInterval {
        let left = secondsLeft(notValidAfter: notValidAfter, now: now)
        let crossings = [warningThreshold, errorThreshold, 0].map { left - $0 + 1 }.filter { $0 > 0 }
        return max(1, min(interval, crossings.min() ?? interval))
    }
}
