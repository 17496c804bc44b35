/// One health check of one real server as a pure state machine: the driver runs the probes and passes in their
/// outcomes and the time; the machine says when to probe next and when the server's status changes.
///
/// Rules (keepalived's `rise`/`fall`, made exact):
/// - The first probe is due at once; each next one `interval` after the previous one *finished*, so a slow server is
///   never probed twice at a time and one slow server delays no other (each check has its own machine and task).
/// - `fall` consecutive failures make an `up` (or not yet known) server `down`; `rise` consecutive passes make a
///   `down` (or not yet known) server `up`. A pass resets the failure streak and a failure the pass streak, so a
///   flapping server keeps its status until one streak is long enough.
/// - A probe that takes longer than `timeout` is a failure ("timed out after …"): the driver enforces the limit and
///   reports it; an outcome for another probe than the one in flight (a late answer) is ignored.
/// - A probe that could not be made for the director's own reasons (``Outcome/unknown(latency:reason:)``: no file
///   descriptor, no memory, no buffer space, no usable source address, no process) says nothing of the server: the
///   verdict stays as it is and neither streak moves (``troubled`` says so until the next probe that is not unknown).
///   A director out of file descriptors must never take its servers down for it.
/// - The starting status is ``Status/unknown``: the kernel keeps the configured weight until a verdict, as
///   keepalived does without `alpha`; `fall` failures in a row are still needed to take a server out.
public struct Checker: Sendable {
    /// What the check says of its server.
    public enum Status: String, Hashable, Sendable, CustomStringConvertible {
        /// No verdict yet.
        case unknown
        /// It passes.
        case up
        /// It fails.
        case down

        public var description: String { rawValue }
    }

    /// What the driver must do.
    public enum Action: Hashable, Sendable {
        /// Start probe number `id` now; it must finish by `deadline` (now + timeout).
        case probe(id: UInt64, deadline: Duration)
        /// The status changed: why (the last outcome's reason) and how long that probe took.
        case changed(from: Status, to: Status, reason: String, latency: Duration)
    }

    /// How one probe went.
    public enum Outcome: Hashable, Sendable {
        /// It passed after `latency`.
        case passed(latency: Duration, detail: String = "")
        /// It failed after `latency`, for this reason ("connection refused", "status 503", "timed out after 2 s").
        case failed(latency: Duration, reason: String)
        /// The probe could not be made for the director's own reasons ("too many open files", "cannot allocate
        /// memory"): it says nothing of the server, so it is neither a pass nor a failure.
        case unknown(latency: Duration, reason: String)

        /// How long the probe took.
        public var latency: Duration {
            switch self {
            case .passed(let latency, _), .failed(let latency, _), .unknown(let latency, _): latency
            }
        }

        /// Whether the director itself could not probe (``unknown(latency:reason:)``).
        public var isUnknown: Bool {
            if case .unknown = self { return true }
            return false
        }
    }

    /// The check's timing and thresholds.
    public let settings: CheckSettings
    /// The current verdict.
    public private(set) var status: Status = .unknown
    /// Consecutive passes so far.
    public private(set) var passes = 0
    /// Consecutive failures so far.
    public private(set) var failures = 0
    /// The last outcome (nil before the first).
    public private(set) var last: Outcome?
    /// Whether the last probe was ``Outcome/unknown(latency:reason:)``: the director could not probe, and the verdict
    /// stands as it was.
    public var troubled: Bool { last?.isUnknown ?? false }
    /// When the next probe is due (nil while one is in flight).
    public private(set) var nextProbe: Duration?
    /// The probe in flight, if any.
    public private(set) var inFlight: UInt64?
    private var nextID: UInt64 = 1

    /// A checker whose first probe is due at `now`.
    public init(settings: CheckSettings, now: Duration) {
        self.settings = settings
        nextProbe = now
    }

    /// Lets time pass: starts the probe that is due.
    public mutating func tick(now: Duration) -> [Action] {
        guard inFlight == nil, let due = nextProbe, now >= due else { return [] }
        let id = nextID
        nextID += 1
        inFlight = id
        nextProbe = nil
        return [.probe(id: id, deadline: now + settings.timeout)]
    }

    /// A probe finished (or the driver gave up on it at its deadline: a failure that says so).
    public mutating func finished(_ id: UInt64, _ outcome: Outcome, now: Duration) -> [Action] {
        guard inFlight == id else { return [] }
        inFlight = nil
        nextProbe = now + settings.interval
        last = outcome
        let before = status
        switch outcome {
        case .passed:
            passes += 1
            failures = 0
            if status != .up, passes >= settings.rise { status = .up }
        case .failed:
            failures += 1
            passes = 0
            if status != .down, failures >= settings.fall { status = .down }
        case .unknown:
            // The director's own trouble: nothing is learnt of the server.
            return []
        }
        guard status != before else { return [] }
        let reason: String
        switch outcome {
        case .passed(_, let detail):
            reason = "passed \(passes) time\(passes == 1 ? "" : "s") in a row" + (detail.isEmpty ? "" : " (\(detail))")
        case .failed(_, let why):
            reason = "\(why) (\(failures) failure\(failures == 1 ? "" : "s") in a row)"
        case .unknown(_, let why):
            reason = why
        }
        return [.changed(from: before, to: status, reason: reason, latency: outcome.latency)]
    }
}

/// How often a check probes, how long a probe may take, and how many results in a row change the verdict.
public struct CheckSettings: Hashable, Sendable {
    /// The pause between a probe's end and the next probe.
    public var interval: Duration
    /// The longest a probe may take; longer is a failure.
    public var timeout: Duration
    /// Passes in a row that make a server up.
    public var rise: Int
    /// Failures in a row that make a server down.
    public var fall: Int

    /// The settings; every value must be positive (``HealthError`` otherwise).
    public init(interval: Duration, timeout: Duration, rise: Int = 2, fall: Int = 3) throws(HealthError) {
        guard interval > .zero else { throw HealthError("the check interval must be positive, found \(interval)") }
        guard timeout > .zero else { throw HealthError("the check timeout must be positive, found \(timeout)") }
        guard rise >= 1, rise <= 100 else { throw HealthError("rise must be from 1 to 100, found \(rise)") }
        guard fall >= 1, fall <= 100 else { throw HealthError("fall must be from 1 to 100, found \(fall)") }
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
    }

    /// The longest a healthy server can go from its death to its verdict: `fall` probes, each at most the timeout,
    /// with an interval before each but the first.
    public var detectionBound: Duration { (timeout + interval) * fall }
}

/// Why a health check cannot be set up or run: a sentence naming what is wrong.
public struct HealthError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
