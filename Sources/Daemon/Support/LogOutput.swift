import DequeModule
import Foundation
import Logging
import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where the daemon's log lines go: a bounded queue in memory, drained by one writer thread of its own that writes
/// each line with `write(2)` to a file descriptor (standard error in the daemon).
///
/// Logging never stops or kills the daemon: a caller only appends to the queue (a full queue drops the line, it never
/// waits), a reader that stalls (journald under load) blocks the writer thread alone, and a write that fails (a
/// closed pipe, a full disk, EIO, EBADF) drops that line and the writer goes on with the next, so a disk that frees
/// space recovers by itself. Every dropped line is counted in
/// `lvsync_log_lines_dropped_total{reason="write_error"|"queue_full"}`. SIGPIPE is ignored by the process (see
/// ``ignoreBrokenPipes()``), so a closed pipe is an `EPIPE`, not the end of the process.
///
/// When the descriptor is the journal's stream (`JOURNAL_STREAM`, see ``JournalStream``), each line starts with its
/// syslog priority, `<N>`, which journald takes off and keeps as the entry's `PRIORITY`.
public final class LogOutput: Sendable {
    /// Why a line was dropped.
    public enum DropReason: String, Sendable, CaseIterable {
        /// `write(2)` failed (EPIPE, ENOSPC, EIO, EBADF, …).
        case writeError = "write_error"
        /// The queue held its most lines or bytes.
        case queueFull = "queue_full"
    }

    private struct Queue {
        var lines: Deque<[UInt8]> = []
        var bytes = 0
        /// Lines accepted into the queue so far.
        var accepted: UInt64 = 0
        /// Lines the writer is done with (written or dropped) so far.
        var done: UInt64 = 0
        var closing = false
    }

    /// The descriptor written to.
    public let fileDescriptor: Int32
    /// The most lines the queue holds.
    public let lineCapacity: Int
    /// The most bytes the queue holds.
    public let byteCapacity: Int
    /// Whether each line starts with its sd-daemon priority prefix (the descriptor is the journal's stream).
    public let prefixesPriority: Bool
    private let metrics: (any MetricsFactory)?
    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let writeErrors = Atomic<Int>(0)
    private let queueFull = Atomic<Int>(0)
    private let writerExited = Atomic<Bool>(false)

    /// Standard error, with the priority prefix when it is the journal's stream; created (with its writer thread) on
    /// first use.
    public static let standardError = LogOutput(
        fileDescriptor: 2,
        prefixesPriority: JournalStream.isConnected(fileDescriptor: 2)
    )

    /// An output writing to `fileDescriptor` (which the caller keeps open until ``close(within:)`` returned true).
    ///
    /// - Parameters:
    ///   - lineCapacity: the most lines queued (8 192 by default).
    ///   - byteCapacity: the most bytes queued (4 MiB by default), whichever is reached first. The writer takes the
    ///     queued lines as one batch, so at most twice these are held while it writes a batch.
    ///   - prefixesPriority: whether lines start with `<N>`, their syslog priority.
    ///   - metrics: where the drop counter is made; nil: the `MetricsSystem`'s factory at the time of each drop (the
    ///     daemon bootstraps its metrics after its logging).
    public init(
        fileDescriptor: Int32,
        lineCapacity: Int = 8192,
        byteCapacity: Int = 4 << 20,
        prefixesPriority: Bool = false,
        metrics: (any MetricsFactory)? = nil
    ) {
        Self.ignoreBrokenPipes()
        self.fileDescriptor = fileDescriptor
        self.lineCapacity = max(1, lineCapacity)
        self.byteCapacity = max(1, byteCapacity)
        self.prefixesPriority = prefixesPriority
        self.metrics = metrics
        let thread = Thread { [self] in drain() }
        thread.name = "lvsync-log-writer"
        thread.start()
    }

    /// Makes the process ignore SIGPIPE, so that writing to a closed pipe or socket fails with `EPIPE` instead of
    /// ending the process. Child processes should restore the default (`POSIX_SPAWN_SETSIGDEF`).
    public static func ignoreBrokenPipes() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// Queues `line` (without its newline) at `level`; drops and counts it when the queue is full. Never blocks.
    public func write(_ line: String, level: Logger.Level) {
        var bytes: [UInt8] = []
        if prefixesPriority {
            bytes.append(contentsOf: JournalStream.prefix(for: level).utf8)
        }
        bytes.append(contentsOf: line.utf8)
        bytes.append(0x0A)
        let accepted = queue.withLock { queue in
            guard !queue.closing, queue.lines.count < lineCapacity, queue.bytes + bytes.count <= byteCapacity
            else { return false }
            queue.lines.append(bytes)
            queue.bytes += bytes.count
            queue.accepted += 1
            return true
        }
        if accepted {
            wake.signal()
        } else {
            countDrop(.queueFull)
        }
    }

    /// Waits at most `timeout` for the writer to finish every line queued before the call; whether it did.
    @discardableResult
    public func flush(within timeout: Duration = .seconds(1)) -> Bool {
        let target = queue.withLock { $0.accepted }
        return waitUntil(within: timeout) { queue.withLock { $0.done >= target } }
    }

    /// Stops taking lines, lets the writer finish the queued ones and waits at most `timeout` for its thread to end;
    /// whether it ended (only then may the caller close the descriptor).
    @discardableResult
    public func close(within timeout: Duration = .seconds(1)) -> Bool {
        queue.withLock { $0.closing = true }
        wake.signal()
        return waitUntil(within: timeout) { writerExited.load(ordering: .acquiring) }
    }

    /// Lines dropped for `reason` by this output so far.
    public func dropped(_ reason: DropReason) -> Int {
        switch reason {
        case .writeError: writeErrors.load(ordering: .relaxed)
        case .queueFull: queueFull.load(ordering: .relaxed)
        }
    }

    /// Lines queued and not yet taken by the writer.
    public var queuedLines: Int { queue.withLock { $0.lines.count } }

    // MARK: - The writer thread

    private func drain() {
        while true {
            wake.wait()
            let batch: [[UInt8]]? = queue.withLock { queue in
                if queue.lines.isEmpty { return queue.closing ? nil : [] }
                let batch = Array(queue.lines)
                queue.lines.removeAll(keepingCapacity: true)
                queue.bytes = 0
                return batch
            }
            guard let batch else { break }
            for line in batch {
                if !writeAll(line) { countDrop(.writeError) }
                queue.withLock { $0.done += 1 }
            }
            // The close asked while lines were being written: finish what is left, then end.
            if queue.withLock({ $0.closing }) { wake.signal() }
        }
        writerExited.store(true, ordering: .releasing)
    }

    /// Writes all of `bytes`, again after EINTR and after a partial write; false on an error.
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0, errno == EINTR {
                    continue
                } else if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                    // A non-blocking descriptor: wait for room (this thread only).
                    var poller = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&poller, 1, 1000)
                } else {
                    return false
                }
            }
            return true
        }
    }

    private func countDrop(_ reason: DropReason) {
        switch reason {
        case .writeError: writeErrors.add(1, ordering: .relaxed)
        case .queueFull: queueFull.add(1, ordering: .relaxed)
        }
        let dimensions = [("reason", reason.rawValue)]
        if let metrics {
            Counter(label: "lvsync_log_lines_dropped_total", dimensions: dimensions, factory: metrics).increment()
        } else {
            Counter(label: "lvsync_log_lines_dropped_total", dimensions: dimensions).increment()
        }
    }

    private func waitUntil(within timeout: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= deadline { return false }
            usleep(1000)
        }
        return true
    }
}
