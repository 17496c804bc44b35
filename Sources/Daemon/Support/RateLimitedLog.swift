import Logging
import Metrics
import Synchronization

/// How many lines of one kind a log may take in a window: the first `burst` lines of each window are written, the
/// rest are counted, and the next line written after them says how many were left out. Pure: the time is passed in.
public struct LogRateLimit: Sendable {
    /// What to do with a line.
    public enum Decision: Equatable, Sendable {
        /// Write it; `suppressed` lines of its kind were left out since the last one written.
        case write(suppressed: Int)
        /// Leave it out (it is counted).
        case suppress
    }

    /// Lines written per window and kind.
    public let burst: Int
    /// The window.
    public let window: Duration
    private var kinds: [String: (start: ContinuousClock.Instant, written: Int, suppressed: Int)] = [:]

    /// A limit of `burst` lines of each kind per `window`.
    public init(burst: Int, window: Duration) {
        self.burst = max(1, burst)
        self.window = window
    }

    /// Whether a line of `kind` is written at `now`.
    public mutating func admit(_ kind: String, now: ContinuousClock.Instant) -> Decision {
        var entry = kinds[kind] ?? (now, 0, 0)
        if now - entry.start >= window {
            entry.start = now
            entry.written = 0
        }
        let decision: Decision
        if entry.written < burst {
            decision = .write(suppressed: entry.suppressed)
            entry.written += 1
            entry.suppressed = 0
        } else {
            decision = .suppress
            entry.suppressed += 1
        }
        kinds[kind] = entry
        return decision
    }

    /// The kinds whose window ended with lines left out and not yet reported, each with the count (reported now:
    /// the counts are reset).
    public mutating func overdue(now: ContinuousClock.Instant) -> [(kind: String, suppressed: Int)] {
        var due: [(String, Int)] = []
        for (kind, entry) in kinds where entry.suppressed > 0 && now - entry.start >= window {
            due.append((kind, entry.suppressed))
            kinds[kind] = (now, 0, 0)
        }
        return due.sorted { $0.0 < $1.0 }
    }
}

/// A logger for events that an attacker or a broken peer can repeat at will (refused connections, bad datagrams):
/// at most ``LogRateLimit/burst`` lines of each kind per window, then one line saying how many more were suppressed,
/// so that one noisy source cannot flood the journal (whose own rate limit would then drop the election's lines
/// too). Every suppressed line is counted in `lvsync_log_suppressed_total{kind}`.
public final class RateLimitedLog: Sendable {
    private let limit: Mutex<LogRateLimit>
    private let logger: Logger

    /// At most `burst` lines of each kind every `window` through `logger`.
    public init(logger: Logger, burst: Int = 5, window: Duration = .seconds(10)) {
        self.logger = logger
        limit = Mutex(LogRateLimit(burst: burst, window: window))
    }

    /// Logs `message` at `level` unless lines of `kind` are over their limit.
    public func log(
        _ level: Logger.Level,
        kind: String,
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata = [:],
        now: ContinuousClock.Instant = .now
    ) {
        let (decision, overdue) = limit.withLock { ($0.admit(kind, now: now), $0.overdue(now: now)) }
        for (other, count) in overdue where other != kind { reportSuppressed(level, kind: other, count) }
        switch decision {
        case .write(let suppressed):
            if suppressed > 0 { reportSuppressed(level, kind: kind, suppressed) }
            logger.log(level: level, message(), metadata: metadata())
        case .suppress:
            Counter(label: "lvsync_log_suppressed_total", dimensions: [("kind", kind)]).increment()
        }
    }

    /// Reports kinds whose window ended with lines left out (call now and then: a flood that stops is then still
    /// reported).
    public func flush(now: ContinuousClock.Instant = .now) {
        for (kind, count) in limit.withLock({ $0.overdue(now: now) }) { reportSuppressed(.warning, kind: kind, count) }
    }

    private func reportSuppressed(_ level: Logger.Level, kind: String, _ count: Int) {
        logger.log(
            level: level,
            "\(count) more suppressed",
            metadata: [
                "kind": "\(kind)", "suppressed": "\(count)",
                "window_ms": "\(limit.withLock { $0.window }.milliseconds)",
            ]
        )
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
