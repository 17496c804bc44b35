import Daemon
import Foundation
import HostNetwork
import Synchronization
import Testing

/// A kernel backup socket in memory: a receive queue of `capacity` bytes (each datagram counts `truesize`), a drop
/// count, and a backup thread that reads `readsPerLook` datagrams each time the queue is looked at.
final class FakeBackupSocket: SyncMessageInjecting, BackupQueueReading, @unchecked Sendable {
    private struct State {
        var queue: [[UInt8]] = []
        var received: [[UInt8]] = []
        var drops: UInt64 = 0
    }
    private let state = Mutex(State())
    private let held = Atomic<Bool>(false)
    let capacity: Int
    let truesize = 4_096
    let readsPerLook: Int

    /// While true, a send waits (a backup thread that does not run): the feeder's own queue fills up.
    var isHeld: Bool {
        get { held.load(ordering: .relaxed) }
        set { held.store(newValue, ordering: .relaxed) }
    }

    init(capacity: Int, readsPerLook: Int) {
        self.capacity = capacity
        self.readsPerLook = readsPerLook
    }

    func inject(_ message: UnsafeRawBufferPointer) throws {
        while isHeld { usleep(1_000) }
        state.withLock { state in
            if (state.queue.count + 1) * truesize > capacity {
                state.drops += 1
            } else {
                state.queue.append(Array(message))
            }
        }
    }

    var backupQueue: (any BackupQueueReading)? { self }

    func queue() -> BackupSocketQueue? {
        state.withLock { state in
            let read = min(readsPerLook, state.queue.count)
            state.received += state.queue.prefix(read)
            state.queue.removeFirst(read)
            return BackupSocketQueue(queued: state.queue.count * truesize, drops: state.drops, inode: 7)
        }
    }

    /// What the backup thread read, after it read everything still queued.
    var received: [[UInt8]] {
        state.withLock { state in
            state.received += state.queue
            state.queue = []
            return state.received
        }
    }

    var drops: UInt64 { state.withLock { $0.drops } }
}

@Suite("KernelFeeder: injections paced by the backup socket's queue, drops sent again")
struct KernelFeederTests {
    static func messages(_ count: Int) -> [[UInt8]] {
        (0..<count).map { i in [UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8), 1, 2, 3] }
    }

    /// Feeds `count` messages into `socket` and waits until the feeder says they are through.
    static func feed(_ count: Int, into socket: FakeBackupSocket) async -> KernelFeeder.Figures {
        let feeder = KernelFeeder(injector: socket, reader: socket)
        defer { feeder.stop() }
        for message in messages(count) { message.withUnsafeBytes { _ = feeder.enqueue($0) } }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in feeder.whenDone { done.resume() } }
        return feeder.figures
    }

    @Test("a backup thread that keeps up: everything arrives once, nothing dropped or sent again")
    func keepsUp() async {
        let socket = FakeBackupSocket(capacity: 212_992, readsPerLook: 64)
        let figures = await Self.feed(2_000, into: socket)
        #expect(Set(socket.received) == Set(Self.messages(2_000)))
        #expect(socket.drops == 0)
        #expect(figures.kernelDrops == 0 && figures.resent == 0 && figures.lost == 0)
        #expect(figures.sent == 2_000)
    }

    @Test("a slow backup thread behind a small queue: paced, nothing is dropped; unpaced, most of a burst is")
    func paced() async {
        // Room for 4 datagrams, one read per look.
        let socket = FakeBackupSocket(capacity: 4 * 4_096, readsPerLook: 1)
        let figures = await Self.feed(1_000, into: socket)
        #expect(Set(socket.received) == Set(Self.messages(1_000)))
        #expect(socket.drops == 0)
        #expect(figures.kernelDrops == 0 && figures.lost == 0)

        // The same burst sent as fast as it comes (what sendto() alone does): the socket drops.
        let unpaced = FakeBackupSocket(capacity: 4 * 4_096, readsPerLook: 1)
        let feeder = KernelFeeder(injector: unpaced, reader: nil)
        defer { feeder.stop() }
        for message in Self.messages(1_000) { message.withUnsafeBytes { _ = feeder.enqueue($0) } }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in feeder.whenDone { done.resume() } }
        #expect(unpaced.drops > 900)
    }

    @Test("a socket that holds less than its size promised: drops seen, the window narrowed, every message in")
    func dropsResent() async {
        // Room for one datagram where the reader says 64: the kernel drops, the feeder narrows and sends again.
        let socket = FakeBackupSocket(capacity: 4_096 + 100, readsPerLook: 1)
        let feeder = KernelFeeder(injector: socket, reader: BiggerThanItIs(socket, capacity: 64 * 4_096))
        defer { feeder.stop() }
        for message in Self.messages(300) { message.withUnsafeBytes { _ = feeder.enqueue($0) } }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in feeder.whenDone { done.resume() } }
        let figures = feeder.figures
        #expect(socket.drops > 0)
        #expect(figures.kernelDrops > 0 && figures.resent > 0)
        let missing = Set(Self.messages(300)).subtracting(socket.received)
        #expect(missing.isEmpty && figures.lost == 0, "missing \(missing.count), lost \(figures.lost)")
    }

    @Test("a full queue refuses and counts; a barrier runs after what was queued before it")
    func overflowAndBarrier() async {
        let socket = FakeBackupSocket(capacity: 1 << 20, readsPerLook: 64)
        let feeder = KernelFeeder(injector: socket, reader: socket, capacityBytes: 50)
        defer { feeder.stop() }
        var refused = 0
        // The socket takes nothing meanwhile: whatever the scheduler does, the queue is full after its first message.
        socket.isHeld = true
        for message in Self.messages(40) { message.withUnsafeBytes { refused += feeder.enqueue($0) ? 0 : 1 } }
        socket.isHeld = false
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in feeder.whenDone { done.resume() } }
        #expect(refused > 0)
        #expect(feeder.figures.overflowed == refused)
        #expect(socket.received.count == 40 - refused)
    }
}

/// A reader that overstates the socket's capacity, so the feeder sends windows the socket cannot hold.
struct BiggerThanItIs: BackupQueueReading {
    let socket: FakeBackupSocket
    let capacity: Int

    init(_ socket: FakeBackupSocket, capacity: Int) {
        self.socket = socket
        self.capacity = capacity
    }

    func queue() -> BackupSocketQueue? { socket.queue() }
}
