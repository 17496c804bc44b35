import Failover
import Testing

@testable import Daemon

@Suite("The election's clock: the thread's and the pool's stalls left out")
struct ElectionClockTests {
    let origin = ContinuousClock.now

    func at(_ milliseconds: Int64) -> ContinuousClock.Instant { origin + .milliseconds(milliseconds) }

    @Test("without the UDP path the clock waits for the pool's pulse, then credits its stall")
    func followsThePool() {
        var clock = ElectionClock(origin: origin, followsPool: true, allowance: .milliseconds(100))
        var pulse = PoolPulse.Reading(lastBeat: at(1000), stalled: .zero)
        #expect(clock.time(at: at(1010), pulse: pulse) == .milliseconds(1010))
        // The pool stops beating at 1000: the clock stands at 1100 however long the stall lasts.
        #expect(clock.time(at: at(1500), pulse: pulse) == .milliseconds(1100))
        #expect(clock.isWaitingForPool(at: at(1500), pulse: pulse))
        #expect(clock.time(at: at(3000), pulse: pulse) == .milliseconds(1100))
        // It beats again at 3000, 2 s late: credited (less one interval, 20 ms); the clock never goes back.
        pulse = PoolPulse.Reading(lastBeat: at(3000), stalled: .milliseconds(1980))
        #expect(clock.time(at: at(3000), pulse: pulse) == .milliseconds(1100))
        #expect(clock.time(at: at(3100), pulse: pulse) == .milliseconds(1120))
        #expect(!clock.isWaitingForPool(at: at(3010), pulse: pulse))
    }

    @Test("with the UDP path the pool's stalls change nothing; the thread's own are left out")
    func udpPathDoesNotWait() {
        var clock = ElectionClock(origin: origin, followsPool: false, allowance: .milliseconds(100))
        let pulse = PoolPulse.Reading(lastBeat: at(0), stalled: .seconds(5))
        #expect(clock.time(at: at(3000), pulse: pulse) == .milliseconds(3000))
        clock.threadStalled = .milliseconds(400)
        #expect(clock.time(at: at(3500), pulse: pulse) == .milliseconds(3100))
        #expect(clock.instant(of: .milliseconds(3200), pulse: pulse) == at(3600))
        #expect(!clock.isWaitingForPool(at: at(9000), pulse: pulse))
    }

    @Test("a pulse more than five intervals late is a stall")
    func pulseCredits() {
        let pulse = PoolPulse(interval: .milliseconds(20), now: origin)
        pulse.beat(at: at(20))
        pulse.beat(at: at(120))  // 100 ms: five intervals, no stall yet
        #expect(pulse.reading.stalled == .zero)
        pulse.beat(at: at(1120))
        #expect(pulse.reading.stalled == .milliseconds(980))
    }
}
