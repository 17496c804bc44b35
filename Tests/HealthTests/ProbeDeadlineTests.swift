import Testing

@testable import Health

@Suite("Probe deadlines count the time the daemon could run")
struct ProbeDeadlineTests {
    @Test("a slice slept on time counts whole; one that came back far too late counts as the slice")
    func counting() {
        let slice = ProbeDeadline.slice(of: .milliseconds(300))
        #expect(slice == .milliseconds(30))
        #expect(ProbeDeadline.counted(.milliseconds(31), slice: slice) == .milliseconds(31))
        #expect(ProbeDeadline.counted(.milliseconds(150), slice: slice) == .milliseconds(150))
        // Starved for 2 s: not held against the server.
        #expect(ProbeDeadline.counted(.seconds(2), slice: slice) == slice)
    }

    @Test("slices stay between 10 and 100 ms")
    func slices() {
        #expect(ProbeDeadline.slice(of: .milliseconds(20)) == .milliseconds(10))
        #expect(ProbeDeadline.slice(of: .seconds(5)) == .milliseconds(100))
    }

    @Test("the wait lasts at least its timeout, and a cancelled one ends early with an error")
    func waits() async throws {
        let started = ContinuousClock.now
        try await ProbeDeadline.sleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        let task = Task { try await ProbeDeadline.sleep(for: .seconds(3600)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
