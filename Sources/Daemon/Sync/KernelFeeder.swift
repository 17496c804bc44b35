import DequeModule
import Foundation
import HostNetwork
import Synchronization

/// Hands a standby's sync messages to the kernel backup thread at the pace it reads them, and sends again what it
/// lost: the standby side's closed loop at the kernel boundary.
///
/// `sendto()` of a looped multicast datagram succeeds whether or not the backup thread's socket has room; a datagram
/// that finds the queue full is dropped by the kernel (`UdpRcvbufErrors`) without a word. So the feeder, on a thread
/// of its own (the peer link's loop never waits for the kernel):
/// - sends a window of messages only while the socket's queue (``BackupQueueReading``) is below half its capacity;
/// - reads the socket's drop count after each window, and when it rose sends that window and the one before again
///   (a datagram may still have been on its way when the count was read), up to ``maximumResends`` times, then
///   counts what is still missing as lost;
/// - runs a barrier (``whenDone(_:)``) only once every message queued before it went through with no drop seen,
///   so "in sync" can mean "the kernel has it".
///
/// Without a reader (an in-memory kernel in tests) it sends as fast as it is fed.
public final class KernelFeeder: Sendable {
    /// What the feeder did.
    public struct Figures: Hashable, Sendable {
        /// Messages handed to the kernel (each time: a message sent again counts again).
        public var sent = 0
        /// Messages whose send failed.
        public var failures = 0
        /// Datagrams the backup socket dropped (its drop count's rise while the feeder sent).
        public var kernelDrops: UInt64 = 0
        /// Messages sent again after a drop.
        public var resent = 0
        /// Drops still seen after ``KernelFeeder/maximumResends`` sends of the same window: messages the kernel may lack.
        public var lost: UInt64 = 0
        /// Messages not queued because the queue was full (``KernelFeeder/capacityBytes``).
        public var overflowed = 0
        /// Messages waiting.
        public var queued = 0
        /// Microseconds spent waiting for room in the backup socket's queue.
        public var pacedMicroseconds: UInt64 = 0

        /// Zero figures.
        public init() {}
    }

    private enum Item: Sendable {
        case message([UInt8])
        case barrier(@Sendable () -> Void)
    }

    private struct State: Sendable {
        var queue = Deque<Item>()
        var queuedBytes = 0
        var figures = Figures()
        var stopped = false
    }

    /// How many times a window with drops is sent again before what is missing counts as lost.
    public static let maximumResends = 4
    /// The most bytes of messages waiting (beyond it, messages are refused and counted as overflowed).
    public let capacityBytes: Int

    private let state = Mutex(State())
    private let wakeup = NSCondition()
    private let injector: any SyncMessageInjecting
    private let reader: (any BackupQueueReading)?

    /// A feeder into `injector`, paced by `reader` (nil: unpaced), on a thread of its own until ``stop()``.
    public init(
        injector: any SyncMessageInjecting,
        reader: (any BackupQueueReading)?,
        capacityBytes: Int = 256 << 20
    ) {
        self.injector = injector
        self.reader = reader
        self.capacityBytes = capacityBytes
        let thread = Thread { [self] in self.run() }
        thread.name = "lvsync-feed"
        thread.start()
    }

    /// Queues a copy of `message` for the kernel; false when the queue is full (counted).
    @discardableResult
    public func enqueue(_ message: UnsafeRawBufferPointer) -> Bool {
        let accepted = state.withLock { state in
            guard !state.stopped, state.queuedBytes + message.count <= capacityBytes else {
                state.figures.overflowed += 1
                return false
            }
            state.queue.append(.message(Array(message)))
            state.queuedBytes += message.count
            return true
        }
        if accepted { signal() }
        return accepted
    }

    /// Runs `body` (on the feeder's thread) once every message queued before now is in the kernel's hands with no
    /// drop seen (or counted as lost).
    public func whenDone(_ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.queue.append(.barrier(body)) }
        signal()
    }

    /// Waits (up to `seconds`) until the backup thread has read everything from its socket's queue (at once without
    /// a reader).
    public func waitUntilTheKernelReadItAll(seconds: Double) {
        guard let reader else { return }
        var waited = 0.0
        while let queue = reader.queue(), queue.queued > 0, waited < seconds {
            usleep(10_000)
            waited += 0.01
        }
    }

    /// Stops the thread; what is queued is dropped.
    public func stop() {
        state.withLock { state in
            state.stopped = true
            state.queue.removeAll()
            state.queuedBytes = 0
        }
        signal()
    }

    /// What the feeder did so far.
    public var figures: Figures {
        state.withLock { state in
            var figures = state.figures
            figures.queued = state.queue.count
            return figures
        }
    }

    private func signal() {
        wakeup.lock()
        wakeup.signal()
        wakeup.unlock()
    }

    // MARK: - The feeder's thread

    private func run() {
        var pacer = Pacer(reader: reader)
        var previous: [[UInt8]] = []
        while let work = next(window: pacer.window) {
            switch work {
            case .messages(let window):
                send(window, pacer: &pacer)
                confirm(resending: previous + window, pacer: &pacer)
                previous = window
            case .barrier(let body):
                // A datagram may still be on its way to the socket: look once more before saying it is done.
                if reader != nil, !previous.isEmpty {
                    usleep(2_000)
                    confirm(resending: previous, pacer: &pacer)
                }
                previous = []
                body()
            }
        }
    }

    /// Looks at the socket's drop count; while it rose, sends `messages` again and looks again, at most
    /// ``maximumResends`` times; a rise still seen after that counts as lost.
    private func confirm(resending messages: [[UInt8]], pacer: inout Pacer) {
        var rise = pacer.dropsSinceLastLook()
        var drops: UInt64 = 0
        var attempts = 0
        if rise == 0 { pacer.noteClean() }
        while rise > 0, attempts < Self.maximumResends {
            drops += rise
            attempts += 1
            // The socket holds less than its size promised (a backup thread restarted with a smaller
            // sync_sock_size, rmem_max capping it, a competing sender): narrower windows, one after another.
            pacer.noteDrops()
            var start = 0
            while start < messages.count {
                let end = min(messages.count, start + pacer.window)
                send(Array(messages[start..<end]), pacer: &pacer, resending: true)
                start = end
            }
            usleep(1_000)
            rise = pacer.dropsSinceLastLook()
        }
        let lost = rise
        drops += lost
        if drops > 0 {
            update {
                $0.kernelDrops += drops; $0.lost += lost
            }
        }
    }

    private enum Work {
        case messages([[UInt8]])
        case barrier(@Sendable () -> Void)
    }

    /// Waits for work: up to `window` messages (stopping before a barrier), or a barrier; nil once stopped.
    private func next(window: Int) -> Work? {
        while true {
            let work: Work?? = state.withLock { state in
                if state.stopped { return .some(nil) }
                guard let first = state.queue.first else { return nil }
                if case .barrier(let body) = first {
                    state.queue.removeFirst()
                    return .some(.barrier(body))
                }
                var messages: [[UInt8]] = []
                while messages.count < window, case .message(let bytes) = state.queue.first {
                    state.queue.removeFirst()
                    state.queuedBytes -= bytes.count
                    messages.append(bytes)
                }
                return .some(.messages(messages))
            }
            if let work { return work }
            wakeup.lock()
            // Timed: a signal sent between the look above and this wait is not lost for long.
            _ = wakeup.wait(until: Date(timeIntervalSinceNow: 0.05))
            wakeup.unlock()
        }
    }

    private func send(_ messages: [[UInt8]], pacer: inout Pacer, resending: Bool = false) {
        let waited = pacer.waitForRoom(stopped: { self.state.withLock { $0.stopped } })
        var sent = 0
        var failures = 0
        for message in messages {
            do {
                try message.withUnsafeBytes { try injector.inject($0) }
                sent += 1
            } catch {
                failures += 1
            }
        }
        update { figures in
            figures.sent += sent
            figures.failures += failures
            figures.pacedMicroseconds += waited
            if resending { figures.resent += sent }
        }
    }

    private func update(_ body: (inout Figures) -> Void) {
        state.withLock { body(&$0.figures) }
    }
}

/// The feeder's view of the backup socket: room before a send, drops after it. Used by the feeder's thread only.
///
/// The window and the room waited for start from the socket's size and narrow when drops show the socket holds
/// less (halved at each drop, down to one message sent into an empty queue), widening again by one message per
/// window sent without a drop.
struct Pacer {
    let reader: (any BackupQueueReading)?
    /// The drop count and socket last seen.
    var baseline: BackupSocketQueue?
    /// Messages per window now, at most ``widest(_:)``.
    private(set) var window: Int

    init(reader: (any BackupQueueReading)?) {
        self.reader = reader
        baseline = reader?.queue()
        window = Self.widest(reader)
    }

    /// Messages per window as the socket's size allows: as many as fit in half its capacity at a generous 4 KiB of
    /// kernel accounting each (a 1.5 KB datagram's truesize), 1 to 16.
    static func widest(_ reader: (any BackupQueueReading)?) -> Int {
        guard let reader else { return 64 }
        return min(16, max(1, reader.capacity / 2 / 4_096))
    }

    /// Drops seen: half the window (one message at the least).
    mutating func noteDrops() { window = max(1, window / 2) }

    /// A window went in without a drop: one message more, up to what the socket's size allows.
    mutating func noteClean() { window = min(Self.widest(reader), window + 1) }

    /// Waits (up to two seconds) until the socket's queue has room for the window (under half its capacity, and
    /// under the window's own size once drops narrowed it); returns the microseconds waited.
    mutating func waitForRoom(stopped: () -> Bool) -> UInt64 {
        guard let reader else { return 0 }
        // Narrowed: room means no more queued than the window less one message (one message: an empty queue).
        let limit = window < Self.widest(reader) ? (window - 1) * 4_096 : reader.capacity / 2
        var waited: UInt64 = 0
        while let queue = reader.queue(), queue.queued > limit, waited < 2_000_000, !stopped() {
            usleep(200)
            waited += 200
        }
        return waited
    }

    /// How much the socket's drop count rose since the last look (0 at the first look at a socket: a restarted
    /// backup thread's count starts anew).
    mutating func dropsSinceLastLook() -> UInt64 {
        guard let reader, let now = reader.queue() else { return 0 }
        defer { baseline = now }
        guard let before = baseline, before.inode == now.inode, now.drops > before.drops else { return 0 }
        return now.drops - before.drops
    }
}
