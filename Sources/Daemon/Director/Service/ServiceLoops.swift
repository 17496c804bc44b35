import HostNetwork
import Logging

/// The active director's capture on its own thread: every message the kernel master daemon sends goes into the
/// source; what one wake-up of the socket brought becomes a batch. Ends when the task is cancelled.
func captureLoop(source: SyncSource, capture: any SyncMessageCapturing, logger: Logger) async throws {
    try await runOnOwnThread(named: "lvsync-capture") { stop in
        while !stop.isRaised {
            let received = try capture.receive(timeoutMilliseconds: 50) { message in
                let problems = source.ingest(message, capturedAtUnixNanoseconds: unixNanosecondsNow())
                if !problems.isEmpty {
                    logger.warning(
                        "a captured kernel sync message has problems",
                        metadata: ["problems": "\(problems.map(\.description))"]
                    )
                }
            }
            // The socket has nothing more for now: what was read becomes a batch.
            if received > 0 { source.flush() }
        }
    }
}

/// Logs a line of sync statistics every `interval` (nothing while `side` has none: a director not yet decided).
func reportStats(
    every interval: Duration,
    counters: PeerCounters,
    logger: Logger,
    _ side: @Sendable () -> SyncStatsLine.Side?
) async throws {
    var previous = 0
    var last = ContinuousClock.now
    while true {
        try await Task.sleep(for: interval)
        let now = ContinuousClock.now
        guard let side = side() else { continue }
        let elapsed = now - last
        let line = SyncStatsLine(
            side: side,
            counters: counters.all,
            previousEntries: previous,
            elapsedSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        )
        logger.info("sync stats", metadata: line.metadata)
        previous = line.entries
        last = now
    }
}

/// Runs `body` every `interval` until cancelled.
func repeatEvery(_ interval: Duration, _ body: @Sendable () -> Void) async throws {
    while true {
        try await Task.sleep(for: interval)
        body()
    }
}
