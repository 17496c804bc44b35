import Health
import Testing

/// Drives a checker through outcomes at given times, as the daemon's driver would.
struct CheckerHarness {
    var checker: Checker
    var now: Duration = .zero
    var changes: [(Checker.Status, Checker.Status, String)] = []

    init(interval: Int = 1000, timeout: Int = 500, rise: Int = 2, fall: Int = 3) throws {
        checker = Checker(
            settings: try CheckSettings(
                interval: .milliseconds(interval),
                timeout: .milliseconds(timeout),
                rise: rise,
                fall: fall
            ),
            now: .zero
        )
    }

    /// Waits until the next probe is due, starts it, and finishes it after `took` ms with `pass`.
    mutating func probe(_ pass: Bool, took: Int = 10, reason: String = "connection refused") {
        if let due = checker.nextProbe { now = max(now, due) }
        let actions = checker.tick(now: now)
        guard case .probe(let id, _) = actions.first else {
            Issue.record("no probe started at \(now): \(actions)")
            return
        }
        now += .milliseconds(took)
        let outcome: Checker.Outcome =
            pass ? .passed(latency: .milliseconds(took)) : .failed(latency: .milliseconds(took), reason: reason)
        for action in checker.finished(id, outcome, now: now) {
            if case .changed(let from, let to, let why, _) = action { changes.append((from, to, why)) }
        }
    }
}

@Suite("Health: the checker's rise and fall (time passed in)")
struct CheckerTests {
    @Test("unknown at first; rise passes make it up, fall failures in a row make it down, with the reason")
    func riseAndFall() throws {
        var h = try CheckerHarness(rise: 2, fall: 3)
        #expect(h.checker.status == .unknown)
        h.probe(true)
        #expect(h.checker.status == .unknown, "one pass is not yet rise = 2")
        h.probe(true)
        #expect(h.checker.status == .up)
        h.probe(false)
        h.probe(false)
        #expect(h.checker.status == .up, "two failures are not yet fall = 3")
        h.probe(false, reason: "connection refused")
        #expect(h.checker.status == .down)
        #expect(h.changes.count == 2)
        #expect(h.changes.last?.0 == .up && h.changes.last?.1 == .down)
        #expect(h.changes.last?.2 == "connection refused (3 failures in a row)")
        h.probe(true)
        h.probe(true)
        #expect(h.checker.status == .up)
        #expect(h.changes.last?.2 == "passed 2 times in a row")
    }

    @Test("a flapping server keeps its status: alternating results never complete a streak")
    func flapping() throws {
        var h = try CheckerHarness(rise: 2, fall: 2)
        h.probe(true)
        h.probe(true)
        #expect(h.checker.status == .up)
        for index in 0..<20 { h.probe(index % 2 == 0) }
        #expect(h.checker.status == .up)
        #expect(h.changes.count == 1)
    }

    @Test("an unknown server goes straight to down after fall failures (a dead server at start)")
    func deadAtStart() throws {
        var h = try CheckerHarness(rise: 2, fall: 2)
        h.probe(false)
        #expect(h.checker.status == .unknown)
        h.probe(false)
        #expect(h.checker.status == .down)
        #expect(h.changes.map { "\($0.0)>\($0.1)" } == ["unknown>down"])
    }

    @Test("the next probe is due an interval after the previous one finished; never two at a time")
    func scheduling() throws {
        var checker = Checker(
            settings: try CheckSettings(interval: .seconds(2), timeout: .seconds(1), rise: 1, fall: 1),
            now: .seconds(10)
        )
        #expect(checker.tick(now: .seconds(9)).isEmpty, "not due before its time")
        guard case .probe(let id, let deadline) = checker.tick(now: .seconds(10)).first else {
            Issue.record("no probe")
            return
        }
        #expect(deadline == .seconds(11))
        #expect(checker.tick(now: .seconds(30)).isEmpty, "one in flight: no second probe")
        _ = checker.finished(id, .failed(latency: .seconds(1), reason: "timed out after 1 s"), now: .seconds(11))
        #expect(checker.nextProbe == .seconds(13))
        #expect(checker.tick(now: .milliseconds(12_999)).isEmpty)
        #expect(checker.tick(now: .seconds(13)).count == 1)
    }

    @Test("a late outcome (of a probe the driver gave up on) is ignored")
    func lateOutcome() throws {
        var checker = Checker(
            settings: try CheckSettings(interval: .seconds(1), timeout: .seconds(1), rise: 1, fall: 1),
            now: .zero
        )
        guard case .probe(let first, _) = checker.tick(now: .zero).first else { return }
        let down = checker.finished(
            first,
            .failed(latency: .seconds(1), reason: "timed out after 1 s"),
            now: .seconds(1)
        )
        #expect(down.count == 1 && checker.status == .down)
        #expect(checker.finished(first, .passed(latency: .seconds(2)), now: .seconds(2)).isEmpty)
        #expect(checker.status == .down)
    }

    @Test("settings: nonsense is refused with a sentence; the detection bound")
    func settings() throws {
        #expect(throws: HealthError("rise must be from 1 to 100, found 0")) {
            try CheckSettings(interval: .seconds(1), timeout: .seconds(1), rise: 0)
        }
        #expect(throws: HealthError.self) { try CheckSettings(interval: .zero, timeout: .seconds(1)) }
        #expect(throws: HealthError.self) { try CheckSettings(interval: .seconds(1), timeout: .zero) }
        let settings = try CheckSettings(interval: .seconds(2), timeout: .seconds(1), rise: 2, fall: 3)
        #expect(settings.detectionBound == .seconds(9))
    }

    @Test("random runs: the status only ever changes after a full streak")
    func randomRuns() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let rise = Int.random(in: 1...4, using: &generator)
            let fall = Int.random(in: 1...4, using: &generator)
            var h = try CheckerHarness(rise: rise, fall: fall)
            var streak = (passes: 0, failures: 0)
            for _ in 0..<40 {
                let pass = Bool.random(using: &generator)
                let before = h.checker.status
                h.probe(pass)
                streak = pass ? (streak.passes + 1, 0) : (0, streak.failures + 1)
                let after = h.checker.status
                if after != before {
                    #expect(after == (pass ? .up : .down))
                    #expect(pass ? streak.passes >= rise : streak.failures >= fall)
                }
                if streak.passes >= rise { #expect(after == .up) }
                if streak.failures >= fall { #expect(after == .down) }
            }
        }
    }
}
