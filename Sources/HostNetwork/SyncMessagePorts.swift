import SyncWire

/// Where the active director's kernel sync messages come from: the kernel master daemon's multicast, captured
/// (``PacketCapture``), or an in-memory twin in tests and benchmarks.
public protocol SyncMessageCapturing: Sendable {
    /// Waits up to `timeoutMilliseconds` for messages and calls `body` with each one that arrived (the UDP payload),
    /// without blocking once at least one has. Called from one thread only (the capture thread).
    /// - Returns: the number of messages passed to `body`.
    func receive(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int
    /// Messages the capture lost since the last call (a full socket buffer), 0 when it cannot tell.
    func takeDrops() -> UInt64
}

extension SyncMessageCapturing {
    /// None known.
    public func takeDrops() -> UInt64 { 0 }
}

/// Where a standby's kernel sync messages go: the kernel backup daemon, reached by looped multicast
/// (``MulticastInjector``), or an in-memory twin.
public protocol SyncMessageInjecting: Sendable {
    /// Hands one kernel sync message to the kernel backup daemon.
    func inject(_ message: UnsafeRawBufferPointer) throws
    /// The backup daemon's receive queue, to pace the injections by and to see what it dropped (nil: not known;
    /// the messages are then sent as fast as they come).
    var backupQueue: (any BackupQueueReading)? { get }
}

extension SyncMessageInjecting {
    /// None known.
    public var backupQueue: (any BackupQueueReading)? { nil }
}

extension MulticastInjector {
    /// The socket of the backup thread that listens on the group and port this injector sends to.
    public var backupQueue: (any BackupQueueReading)? {
        ProcBackupQueueReader(group: destination.address, port: destination.port)
    }
}

extension PacketCapture: SyncMessageCapturing {
    /// The socket's `PACKET_STATISTICS` drop count since the last call (reading resets it).
    public func takeDrops() -> UInt64 {
        (try? statistics()).map { UInt64($0.dropped) } ?? 0
    }

    /// Reads what is queued now in batches (`recvmmsg(2)` into buffers allocated once, up to a few batches), waiting
    /// up to `timeoutMilliseconds` for the first, and passes each sync message to `body`.
    public func receive(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        var count = 0
        var timeout = timeoutMilliseconds
        for _ in 0..<4 {
            let counts = try receive(into: batch, timeoutMilliseconds: timeout) { payload, _ in body(payload) }
            count += counts.datagrams
            if counts.datagrams + counts.skipped < batch.slots { break }
            timeout = 0
        }
        return count
    }
}

extension MulticastInjector: SyncMessageInjecting {
    /// Sends the message to the sync group, looped back to the kernel backup daemon.
    public func inject(_ message: UnsafeRawBufferPointer) throws { try send(message) }
}
