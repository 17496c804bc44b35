import Daemon
import DequeModule
import Dispatch
import HostNetwork
import Mirror
import SyncWire
import Synchronization

/// An in-memory twin of the kernel master sync daemon for tests and benchmarks: messages put in with ``emit(_:)``
/// come out of ``receive(timeoutMilliseconds:_:)`` in order, as the capture socket would give them.
public final class InMemoryKernelMaster: SyncMessageCapturing {
    private let queue = Mutex(Deque<[UInt8]>())
    private let signal = DispatchSemaphore(value: 0)
    private let failure = Mutex<(error: HostNetworkError, once: Bool)?>(nil)

    /// Creates an empty twin.
    public init() {}

    /// Makes every later receive throw `error` (the capture socket failed), or work again (nil); `once`: only the
    /// next receive.
    public func failReceiving(with error: HostNetworkError?, once: Bool = false) {
        failure.withLock { $0 = error.map { ($0, once) } }
        signal.signal()
    }

    /// Emits messages, as the kernel master would multicast them.
    public func emit(_ messages: some Sequence<[UInt8]>) {
        var added = 0
        queue.withLock { queue in
            for message in messages {
                queue.append(message)
                added += 1
            }
        }
        if added > 0 { signal.signal() }
    }

    /// Messages emitted and not yet received.
    public var pending: Int { queue.withLock { $0.count } }

    private let drops = Mutex<UInt64>(0)

    /// Makes the capture report `count` messages dropped (a full socket buffer), as `PACKET_STATISTICS` would.
    public func reportDrops(_ count: UInt64) {
        drops.withLock { $0 += count }
    }

    public func takeDrops() -> UInt64 {
        drops.withLock { drops in
            defer { drops = 0 }
            return drops
        }
    }

    public func receive(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        if let error = failure.withLock({ failure -> HostNetworkError? in
            defer { if failure?.once == true { failure = nil } }
            return failure?.error
        }) {
            throw error
        }
        var taken = queue.withLock { queue -> [[UInt8]] in
            let count = min(queue.count, 256)
            defer { queue.removeFirst(count) }
            return Array(queue.prefix(count))
        }
        if taken.isEmpty {
            _ = signal.wait(timeout: .now() + .milliseconds(Int(timeoutMilliseconds)))
            taken = queue.withLock { queue -> [[UInt8]] in
                let count = min(queue.count, 256)
                defer { queue.removeFirst(count) }
                return Array(queue.prefix(count))
            }
        }
        for message in taken { message.withUnsafeBytes(body) }
        return taken.count
    }
}

/// An in-memory twin of the kernel backup sync daemon: it validates each injected message as the kernel does and
/// keeps the connections it would create, in a mirror table.
public final class InMemoryKernelBackup: SyncMessageInjecting {
    private struct State {
        var table = MirrorTable()
        var messages = 0
        var entries = 0
        var problems: [SyncWireError] = []
        var digest = MessageDigest()
    }

    private let state = Mutex(State())

    /// Creates an empty twin.
    public init() {}

    public func inject(_ message: UnsafeRawBufferPointer) throws {
        state.withLock { state in
            var problems: [SyncWireError] = []
            var connections: [SyncConnection] = []
            _ = SyncMessageDecoder.decode(message, into: &connections, problems: &problems)
            for connection in connections { state.table.upsert(connection, now: MirrorTime(seconds: 0)) }
            state.messages += 1
            state.entries += connections.count
            state.problems += problems
            state.digest.add(message)
        }
    }

    /// A digest of every message injected, in order: equal digests mean the same messages in the same order.
    public var digest: UInt64 { state.withLock { $0.digest.value } }

    /// The connections the kernel would hold.
    public var table: MirrorTable { state.withLock { $0.table } }
    /// Messages injected.
    public var messages: Int { state.withLock { $0.messages } }
    /// Entries injected.
    public var entries: Int { state.withLock { $0.entries } }
    /// Problems the kernel's checks would have found.
    public var problems: [SyncWireError] { state.withLock { $0.problems } }
}

/// An order-sensitive digest of messages (FNV-1a over their bytes and lengths), to compare two sequences of
/// messages without keeping them.
public struct MessageDigest: Hashable, Sendable {
    /// The digest so far.
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Creates an empty digest.
    public init() {}

    /// Adds one message.
    public mutating func add(_ message: UnsafeRawBufferPointer) {
        var hash = value
        for byte in message {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        hash = (hash ^ UInt64(message.count)) &* 0x100_0000_01b3
        value = hash
    }

    /// Adds one message.
    public mutating func add(_ message: [UInt8]) {
        message.withUnsafeBytes { add($0) }
    }
}
