import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A command run for the real server (keepalived's `MISC_CHECK`): it passes when the command exits with status 0.
/// It runs in a process group of its own, with standard input from `/dev/null`; its output (standard output and error
/// together) is drained as it comes, the first 4 KiB kept for the failure's reason and the rest discarded, so a
/// command that floods its output neither blocks nor fills memory. At the timeout the whole group gets `SIGTERM`,
/// and `SIGKILL` a second later: a command that hangs, or leaves children behind, is bounded all the same.
public struct CommandProbe: Probe {
    /// The program (an absolute path).
    public var path: String
    /// Its arguments.
    public var arguments: [String]

    /// Output kept for the failure's reason.
    public static let keptOutput = 4096

    /// A probe that runs `path` with `arguments`.
    public init(path: String, arguments: [String] = []) {
        self.path = path
        self.arguments = arguments
    }

    public var description: String { ([path] + arguments).joined(separator: " ") }

    public func run(timeout: Duration) async -> Checker.Outcome {
        let started = ContinuousClock.now
        let outcome: (status: Int32?, output: String, error: String?)
        do {
            let process = try SpawnedGroup(path: path, arguments: arguments, keep: Self.keptOutput)
            outcome = await process.wait(timeout: timeout)
        } catch let trouble as DirectorTrouble {
            return .unknown(latency: ContinuousClock.now - started, reason: trouble.reason)
        } catch {
            return .failed(latency: ContinuousClock.now - started, reason: "\(error)")
        }
        let latency = ContinuousClock.now - started
        if let error = outcome.error { return .failed(latency: latency, reason: error) }
        let lastLine =
            outcome.output.split(whereSeparator: \.isNewline).last.map { String($0.prefix(200)) } ?? ""
        guard outcome.status == 0 else {
            let status = outcome.status.map(Self.statusText) ?? "ended"
            return .failed(latency: latency, reason: status + (lastLine.isEmpty ? "" : ": \(lastLine)"))
        }
        return .passed(latency: latency, detail: "exit 0")
    }

    /// A `waitpid` status as a sentence: "exit status 2", "killed by signal 9".
    static func statusText(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exit status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)"
    }
}

/// A child in a process group of its own, its output drained by a thread.
private final class SpawnedGroup: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var kept: [UInt8] = []

    init(path: String, arguments: [String], keep: Int) throws {
        guard path.hasPrefix("/") else {
            throw HealthError("the check command must be an absolute path, found \(path)")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            let code = Glibc.errno
            if ProbeFailure.ownErrnos.contains(code) {
                throw DirectorTrouble(reason: "cannot make a pipe: \(ProbeFailure.ownText(code))")
            }
            throw HealthError("cannot make a pipe: \(Self.errno())")
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Neither end may leak into other children the daemon starts (the child gets its copies through dup2).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The daemon ignores SIGPIPE (its log output handles EPIPE); the command gets the default back, as from a
        // shell.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, path, &actions, &attributes, argv, environ)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            // No descriptor, memory or process for the child is this director's trouble, not the server's.
            if ProbeFailure.ownErrnos.contains(spawned) {
                throw DirectorTrouble(reason: "cannot run \(path): \(ProbeFailure.ownText(spawned))")
            }
            throw HealthError("cannot run \(path): \(String(cString: strerror(spawned)))")
        }
        pid = child
        // Drain the output until every writer is gone; keep its start.
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = read(readEnd, &buffer, buffer.count)
                if n < 0, Glibc.errno == EINTR { continue }
                if n <= 0 { break }
                lock.withLock {
                    if kept.count < keep { kept += buffer[0..<min(n, keep - kept.count)] }
                }
            }
            close(readEnd)
            drained.signal()
        }.start()
    }

    static func errno() -> String { String(cString: strerror(Glibc.errno)) }

    /// Waits for the exit, at most `timeout`; then ends the whole group.
    func wait(timeout: Duration) async -> (status: Int32?, output: String, error: String?) {
        let pid = pid
        let reaped: Int32 = await withCheckedContinuation { continuation in
            Thread { [self] in
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0, Glibc.errno == EINTR {}
                // Marked here, not once the awaiting task runs again: on a busy machine that can be much later, and
                // the watchdog would take a finished command for a hanging one.
                lock.withLock { exited = true }
                continuation.resume(returning: status)
            }.start()
            Thread { [self] in
                let deadline = ContinuousClock.now + timeout
                while ContinuousClock.now < deadline {
                    if lock.withLock({ exited }) { return }
                    usleep(2000)
                }
                // Still running: the group is told to stop, then made to.
                lock.withLock { killedForTimeout = true }
                kill(-pid, SIGTERM)
                let grace = ContinuousClock.now + .seconds(1)
                while ContinuousClock.now < grace {
                    if lock.withLock({ exited }) { break }
                    usleep(2000)
                }
                kill(-pid, SIGKILL)
            }.start()
        }
        let timedOut = lock.withLock { killedForTimeout }
        // Children the command left behind go with it.
        kill(-pid, SIGKILL)
        // The exit can be reaped before the drain has read the last of the output (a busy machine): wait for its end
        // of file, which comes once every writer is gone (at most a second: a writer outside the group may linger).
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread { [self] in
                _ = drained.wait(timeout: .now() + 1)
                continuation.resume()
            }.start()
        }
        let output = lock.withLock { String(decoding: kept, as: UTF8.self) }
        if timedOut { return (nil, output, "timed out after \(ProbeFailure.text(timeout))") }
        return (reaped, output, nil)
    }

    private let drained = DispatchSemaphore(value: 0)
    private var exited = false
    private var killedForTimeout = false
}
