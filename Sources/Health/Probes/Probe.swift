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
                try? await Task.sleep(for: timeout)
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
        case .failure(let error): return .failed(latency: latency, reason: ProbeFailure.reason(error))
        }
    }
}

/// A probe's wait ran out.
struct ProbeTimeout: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "timed out after \(ProbeFailure.text(timeout))" }
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

    /// A duration as people write it: 250 ms, 2 s, 1.5 s.
    static func text(_ duration: Duration) -> String {
        let milliseconds = duration / .milliseconds(1)
        if milliseconds < 1000 { return "\(Int(milliseconds.rounded())) ms" }
        let seconds = milliseconds / 1000
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\((seconds * 10).rounded() / 10) s"
    }
}
