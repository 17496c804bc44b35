import Failover
import Synchronization

/// The election's clock: real time since the driver started, less the time the daemon could not run, so that a
/// director that could not read its peer's adverts does not judge the peer's silence over that time.
///
/// Two kinds of stall are left out:
///
/// - **The election's own thread** woke later than it asked to (the process was starved on an overloaded host):
///   always. Whatever arrived meanwhile is read before anything is judged.
/// - **Swift concurrency's threads** did not run (``PoolPulse``): only while a peer's liveness rests on the peer
///   link (`followsPool`: no UDP path). The link's adverts reach the election through those threads; if they are
///   all busy (a large snapshot being encoded, an overloaded host), the adverts wait, and a clock that went on would
///   find a live active dead. While the pulse is late, the clock stands still at the pulse's last beat (plus an
///   allowance); once it beats again, the stall is credited. With the UDP path, which this thread reads itself, the
///   election's time does not wait for those threads: that path is the detector.
struct ElectionClock {
    let origin: ContinuousClock.Instant
    let followsPool: Bool
    /// How late the pool's pulse may be before the clock waits for it.
    let allowance: Duration
    var threadStalled = Duration.zero
    private var last = ElectionTime.origin

    init(origin: ContinuousClock.Instant, followsPool: Bool, allowance: Duration) {
        self.origin = origin
        self.followsPool = followsPool
        self.allowance = allowance
    }

    /// The election's time at `real`, given the pool's pulse.
    mutating func time(at real: ContinuousClock.Instant, pulse: PoolPulse.Reading) -> ElectionTime {
        var elapsed = real - origin - threadStalled
        if followsPool {
            elapsed -= pulse.stalled
            let standsAt = pulse.lastBeat + allowance - origin - threadStalled - pulse.stalled
            elapsed = min(elapsed, standsAt)
        }
        let time = max(last, ElectionTime(elapsed))
        last = time
        return time
    }

    /// Whether the clock stands still at `real`, waiting for the pool's pulse.
    func isWaitingForPool(at real: ContinuousClock.Instant, pulse: PoolPulse.Reading) -> Bool {
        followsPool && real > pulse.lastBeat + allowance
    }

    /// The real instant at which the clock (running, not waiting for the pool) reads `time`.
    func instant(of time: ElectionTime, pulse: PoolPulse.Reading) -> ContinuousClock.Instant {
        origin + threadStalled + (followsPool ? pulse.stalled : .zero) + time.sinceOrigin
    }
}

/// A beat from one of Swift concurrency's threads every `interval`: when the beat is late, those threads (which carry
/// the peer link's adverts to the election) could not run. A beat more than five intervals late is credited as a
/// stall of the pool.
final class PoolPulse: Sendable {
    /// The last beat and the stalls credited so far.
    struct Reading: Sendable {
        /// When the pulse last beat.
        var lastBeat: ContinuousClock.Instant
        /// The pool's stalls so far.
        var stalled: Duration
    }

    let interval: Duration
    private let state: Mutex<Reading>

    init(interval: Duration, now: ContinuousClock.Instant = .now) {
        self.interval = interval
        state = Mutex(Reading(lastBeat: now, stalled: .zero))
    }

    /// The pulse now.
    var reading: Reading { state.withLock { $0 } }

    /// Beats until cancelled (a task on the pool).
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            beat(at: .now)
        }
    }

    func beat(at now: ContinuousClock.Instant) {
        state.withLock { reading in
            let gap = now - reading.lastBeat
            if gap > interval * 5 { reading.stalled += gap - interval }
            reading.lastBeat = now
        }
    }
}
