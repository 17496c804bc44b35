import Failover
import Foundation
import Logging

/// Runs the configured notify command on every transition, as keepalived runs its notify scripts: with the old
/// state, the new state and the reason as arguments, one at a time in the order of the transitions, each killed
/// when it outlives its timeout. Its output is discarded; its exit status is logged. A hook never delays the
/// election: transitions queue while one runs.
public final class NotifyHooks: Sendable {
    /// The command (an absolute path).
    public let command: String
    /// How long one run may take.
    public let timeout: Duration
    let queue: AsyncStream<(old: ElectionState, new: ElectionState, reason: String)>
    let continuation: AsyncStream<(old: ElectionState, new: ElectionState, reason: String)>.Continuation
    let logger: Logger

    /// Creates the hooks; ``runQueued()`` runs them.
    public init(command: String, timeout: Duration, logger: Logger) {
        self.command = command
        self.timeout = timeout
        self.logger = logger
        (queue, continuation) = AsyncStream.makeStream()
    }

    /// Queues a run for this transition.
    func run(old: ElectionState, new: ElectionState, reason: String) {
        continuation.yield((old, new, reason))
    }

    /// Runs the queued hooks one after another until cancelled.
    public func runQueued() async {
        for await (old, new, reason) in queue {
            guard !Task.isCancelled else { return }
            await runOnce(arguments: [old.rawValue, new.rawValue, reason])
        }
    }

    /// Runs the command once with these arguments and waits for it (or for its timeout).
    func runOnce(arguments: [String]) async {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let started = ContinuousClock.now
        let (ended, endedContinuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { endedContinuation.yield($0.terminationStatus) }
        do {
            try process.run()
        } catch {
            logger.error("cannot run the notify command", metadata: ["command": "\(command)", "error": "\(error)"])
            return
        }
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await status in ended { return status }
                return nil
            }
            group.addTask { [timeout] in
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let elapsed = ContinuousClock.now - started
        guard let status else {
            process.terminate()
            logger.warning(
                "the notify command outlived its timeout and was terminated",
                metadata: ["command": "\(command)", "arguments": "\(arguments)", "timeout": "\(timeout)"]
            )
            return
        }
        logger.log(
            level: status == 0 ? .info : .warning,
            "notify command ran",
            metadata: [
                "command": "\(command)", "arguments": "\(arguments)", "status": "\(status)",
                "milliseconds":
                    "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ]
        )
    }
}
