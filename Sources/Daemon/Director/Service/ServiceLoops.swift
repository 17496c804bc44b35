import HostNetwork
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The active director's capture on its own thread: every message the kernel master daemon sends goes into the
/// source; what one wake-up of the socket brought becomes a batch. Ends when the task is cancelled.
///
/// A capture that loses the sync interface (`ENETDOWN`: the dummy was deleted) asks the director to set the
/// interface up again and restart the kernel master on it, then opens itself again on the new interface; so does a
/// capture whose interface a periodic check found re-created (the director's sync epoch moved). Any other capture
/// error ends the loop, and with it the daemon, in order.
func captureLoop(source: SyncSource, capture opened: Director.Capture, director: Director, logger: Logger)
    async throws
{
    let troubles = RateLimitedLog(logger: logger)
    try await runOnOwnThread(named: "lvsync-capture") { stop in
        var capture = opened.socket
        // The epoch the capture was opened in, not the one now: a repair between the opening and this thread's start
        // must still have the capture opened again.
        var epoch = opened.epoch
        var dropsCheckedAt = ContinuousClock.now
        while !stop.isRaised {
            // Once a second: did the socket drop messages it could not queue? Each is a gap the reconcile fills.
            if ContinuousClock.now - dropsCheckedAt >= .seconds(1) {
                dropsCheckedAt = .now
                let dropped = capture.takeDrops()
                if dropped > 0 {
                    source.noteCaptureDrops(dropped)
                    troubles.log(
                        .warning,
                        kind: "capture_drops",
                        "the capture socket dropped kernel sync messages: reading the kernel's table to fill the gap",
                        metadata: ["dropped": "\(dropped)"]
                    )
                }
            }
            if director.syncEpoch != epoch {
                do {
                    capture = try director.ports.openCapture()
                    epoch = director.syncEpoch
                    logger.notice("the capture is open again on the sync interface")
                } catch {
                    troubles.log(
                        .error,
                        kind: "capture_reopen",
                        "cannot open the capture again",
                        metadata: ["error": "\(error)"]
                    )
                    usleep(500_000)
                    continue
                }
            }
            let received: Int
            do {
                received = try capture.receive(timeoutMilliseconds: 50) { message in
                    let problems = source.ingest(message, capturedAtUnixNanoseconds: unixNanosecondsNow())
                    if !problems.isEmpty {
                        troubles.log(
                            .warning,
                            kind: "capture_problems",
                            "a captured kernel sync message has problems",
                            metadata: ["problems": "\(problems.map(\.description))"]
                        )
                    }
                }
            } catch  where Director.meansInterfaceGone(error) {
                troubles.log(
                    .warning,
                    kind: "capture_lost_interface",
                    "the capture lost the sync interface: setting it up again",
                    metadata: ["error": "\(error)"]
                )
                do {
                    try director.repairAfterCaptureFailure(seenInEpoch: epoch)
                } catch {
                    troubles.log(
                        .error,
                        kind: "sync_repair",
                        "cannot set the sync interface up again",
                        metadata: ["error": "\(error)"]
                    )
                }
                if director.syncEpoch == epoch { usleep(500_000) }
                continue
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
            elapsedSeconds: elapsed.inSeconds
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
