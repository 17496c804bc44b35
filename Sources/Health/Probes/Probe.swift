import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// One way of asking a real server whether it serves: a TCP connect, an HTTP(S) GET, a UDP or DNS exchange, a
/// command. A probe never throws: it returns how it went, within its timeout (every wait it makes is bounded by it),
/// and a failure names what failed ("connection refused", "status 503 (expected 200)", "timed out after 2 s").
public protocol Probe: Sendable {
    /// What it probes, for logs (`tcp 10.0.0.21:80`, `http://10.0.0.21:80/health`).
    var description: String { get }
    /// Probes once, at most `timeout`.
    func run(timeout: Duration) async -> Checker.Outcome
}

extension Probe {
    /// Runs `body`, timing it; its error, or the timeout, becomes the failure's reason.
    func timed(
        _ timeout: Duration,
        _ body: @escaping @Sendable () async throws -> String
    ) async -> Checker.Outcome {
        let started = ContinuousClock.now
        let result: Result<String, any Error> = await withTaskGroup(of: Result<String, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await ProbeDeadline.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(ProbeTimeout(timeout: timeout))
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .failure(ProbeTimeout(timeout: timeout))
        }
        let latency = ContinuousClock.now - started
        switch result {
        case .success(let detail): return .passed(latency: latency, detail: detail)
        case .failure(let error): return .failure(error, latency: latency)
        }
    }
}

extension Checker.Outcome {
    /// How a probe's error counts: ``unknown(latency:reason:)`` when it is the director's own trouble (no file
    /// descriptor, memory, buffer space, process, usable source address or route: `EMFILE`, `ENFILE`, `ENOMEM`,
    /// `ENOBUFS`, `EAGAIN`, `EADDRNOTAVAIL`, `ENETUNREACH`, as NIO's `IOError`, or in every attempt of a
    /// `NIOConnectionError`), otherwise ``failed(latency:reason:)`` with the system's words for it.
    public static func failure(_ error: any Error, latency: Duration) -> Checker.Outcome {
        if let own = ProbeFailure.ownTrouble(error) { return .unknown(latency: latency, reason: own) }
        return .failed(latency: latency, reason: ProbeFailure.reason(error))
    }
}

/// A probe's deadline on the time this process was able to run. A director that is starved of CPU (an overloaded
/// host, a noisy neighbour) handles the server's answer late; counting that time against the server would mark a
/// live server down and quiesce it, the one thing a health check must not do to a healthy pool. The wait is slept in
/// slices; a slice that comes back more than five slices late means the process itself did not run, and only the
/// slice is counted. A dead server is still found dead after `timeout` of time this director could run (the
/// election's clock does the same for a peer's silence).
enum ProbeDeadline {
    /// Returns once `timeout` of this process's running time has passed (throws when cancelled).
    static func sleep(for timeout: Duration) async throws {
        let slice = slice(of: timeout)
        var ran = Duration.zero
        var last = ContinuousClock.now
        while ran < timeout {
            try await Task.sleep(for: min(slice, timeout - ran))
            let now = ContinuousClock.now
            ran += counted(now - last, slice: slice)
            last = now
        }
    }

    /// The slices a wait of `timeout` is slept in: a tenth of it, 10 to 100 ms.
    static func slice(of timeout: Duration) -> Duration {
        min(max(timeout / 10, .milliseconds(10)), .milliseconds(100))
    }

    /// How much of `gap`, the time a slice of `slice` really took, counts: all of it, unless it came back more than
    /// five slices late (the process did not run), then the slice alone.
    static func counted(_ gap: Duration, slice: Duration) -> Duration { gap > slice * 5 ? slice : gap }

    /// The limit for a socket's own timer (a connect), which runs on the wall clock: far enough past `timeout` that
    /// the probe's deadline decides, yet a bound when this process is starved for long.
    static func socketLimit(_ timeout: Duration) -> TimeAmount { TimeAmount(timeout * 4 + .seconds(1)) }
}

/// A probe's wait ran out.
struct ProbeTimeout: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "timed out after \(ProbeFailure.text(timeout))" }
}

/// A probe that could not be made for the director's own reasons (a command that could not be spawned for lack of
/// descriptors, memory or processes): the outcome is ``Checker/Outcome/unknown(latency:reason:)``.
struct DirectorTrouble: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// A probe's own verdict on an answer it did get ("status 503 (expected 200)").
struct ProbeFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }

    /// A reason for a log line: NIO's and POSIX's errors as the operator knows them.
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError {
            // "connection refused", "no route to host": the system's words, not NIO's call site.
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.first.map { reason($0.error) } ?? "cannot connect"
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout(let limit): return "no connection within \(text(.nanoseconds(limit.nanoseconds)))"
            case .ioOnClosedChannel, .eof, .outputClosed, .inputClosed: return "the server closed the connection"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    /// The errno values that are the director's own trouble, not the server's: no descriptor (`EMFILE`,
    /// `ENFILE`), no memory or buffer space (`ENOMEM`, `ENOBUFS`), no process (`EAGAIN` from a spawn), no usable
    /// local address (`EADDRNOTAVAIL`: the source address is not on this host, or the ephemeral ports ran out), no
    /// route out of this host (`ENETUNREACH`). A server that is down answers with `ECONNREFUSED`, `EHOSTUNREACH`,
    /// `ETIMEDOUT` or silence, never with these.
    static let ownErrnos: Set<Int32> = [EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN, EADDRNOTAVAIL, ENETUNREACH]

    /// The reason when `error` is the director's own trouble (see ``ownErrnos``), nil when it may be the server's.
    /// NIO surfaces an errno as an `IOError` (a `socket`, `bind` or `connect` call), inside a `NIOConnectionError`
    /// (one error per address tried: own trouble only when every attempt failed so), or as a ``DirectorTrouble``
    /// (a command probe that could not spawn).
    static func ownTrouble(_ error: any Error) -> String? {
        if let error = error as? DirectorTrouble { return error.reason }
        if let error = error as? IOError {
            guard ownErrnos.contains(error.errnoCode) else { return nil }
            return ownText(error.errnoCode)
        }
        if let error = error as? NIOConnectionError {
            let reasons = error.connectionErrors.map { ownTrouble($0.error) }
            guard !reasons.isEmpty, reasons.allSatisfy({ $0 != nil }) else { return nil }
            return reasons.first!
        }
        return nil
    }

    /// An own errno as a sentence that says whose trouble it is.
    static func ownText(_ errno: Int32) -> String {
        let words = String(cString: strerror(errno)).lowercased()
        switch errno {
        case EADDRNOTAVAIL, ENETUNREACH: return "no route from its source (\(words))"
        default: return words
        }
    }

    /// A duration as people write it: 250 ms, 2 s, 1.5 s.
    static func text(_ duration: Duration) -> String {
        let milliseconds = duration / .milliseconds(1)
        if milliseconds < 1000 { return "\(Int(milliseconds.rounded())) ms" }
        let seconds = milliseconds / 1000
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\((seconds * 10).rounded() / 10) s"
    }
}
