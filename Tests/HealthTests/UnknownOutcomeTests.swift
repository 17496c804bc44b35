import Health
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Health: a probe the director itself cannot make is unknown, never down")
struct UnknownOutcomeTests {
    @Test("the director's own errno values are unknown; the server's are failures")
    func errnoMapping() {
        for code in [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, ENETUNREACH] {
            let outcome = Checker.Outcome.failure(IOError(errnoCode: code, reason: "socket"), latency: .zero)
            #expect(outcome.isUnknown, "errno \(code)")
        }
        let emfile = Checker.Outcome.failure(IOError(errnoCode: EMFILE, reason: "socket"), latency: .milliseconds(1))
        #expect(emfile == .unknown(latency: .milliseconds(1), reason: "too many open files"))
        let unreachable = Checker.Outcome.failure(IOError(errnoCode: ENETUNREACH, reason: "connect"), latency: .zero)
        guard case .unknown(_, let reason) = unreachable else {
            Issue.record("ENETUNREACH is not unknown: \(unreachable)")
            return
        }
        #expect(reason.hasPrefix("no route from its source"))
        for code in [ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, ECONNRESET] {
            let outcome = Checker.Outcome.failure(IOError(errnoCode: code, reason: "connect"), latency: .zero)
            #expect(!outcome.isUnknown, "errno \(code)")
        }
        #expect(
            Checker.Outcome.failure(IOError(errnoCode: ECONNREFUSED, reason: "connect"), latency: .zero)
                == .failed(latency: .zero, reason: "connection refused")
        )
        #expect(!Checker.Outcome.failure(ChannelError.connectTimeout(.seconds(1)), latency: .zero).isUnknown)
    }

    @Test("unknown outcomes keep the verdict: neither a rise nor a fall counts")
    func checkerKeepsVerdict() throws {
        var checker = Checker(
            settings: try CheckSettings(interval: .seconds(1), timeout: .milliseconds(500), rise: 2, fall: 3),
            now: .zero
        )
        var now = Duration.zero
        var changes: [(Checker.Status, Checker.Status)] = []
        func probe(_ outcome: Checker.Outcome) {
            if let due = checker.nextProbe { now = max(now, due) }
            guard case .probe(let id, _) = checker.tick(now: now).first else {
                Issue.record("no probe due at \(now)")
                return
            }
            now += .milliseconds(5)
            for case .changed(let from, let to, _, _) in checker.finished(id, outcome, now: now) {
                changes.append((from, to))
            }
        }
        let pass = Checker.Outcome.passed(latency: .milliseconds(5))
        let fail = Checker.Outcome.failed(latency: .milliseconds(5), reason: "connection refused")
        let emfile = Checker.Outcome.unknown(latency: .milliseconds(1), reason: "too many open files")
        // Unknown before any verdict: still no verdict.
        probe(emfile)
        probe(emfile)
        #expect(checker.status == .unknown && checker.troubled)
        probe(pass)
        probe(pass)
        #expect(checker.status == .up && !checker.troubled)
        // A long run of the director's own trouble leaves an up server up.
        for _ in 0..<20 { probe(emfile) }
        #expect(checker.status == .up)
        #expect(checker.troubled)
        #expect(checker.failures == 0 && checker.passes == 2, "the streaks neither grow nor reset")
        // Two failures, trouble, a third failure: the fall streak goes on across the unknown probes.
        probe(fail)
        probe(fail)
        probe(emfile)
        #expect(checker.status == .up && checker.failures == 2)
        probe(fail)
        #expect(checker.status == .down)
        // And a down server stays down through the trouble.
        for _ in 0..<5 { probe(emfile) }
        #expect(checker.status == .down)
        #expect(changes.count == 2, "unknown -> up, up -> down, and nothing for the unknown outcomes")
    }
}
