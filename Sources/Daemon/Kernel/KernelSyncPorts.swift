import HostNetwork
import SyncWire

/// Where the active director's kernel sync messages come from: the kernel master daemon's multicast, captured
/// (``PacketCaptureSource``), or an in-memory twin in tests and benchmarks.
public protocol SyncMessageCapturing: Sendable {
    /// Waits up to `timeoutMilliseconds` for messages and calls `body` with each one that arrived (the UDP payload),
    /// without blocking once at least one has. Called from one thread only (the capture thread).
    /// - Returns: the number of messages passed to `body`.
    func receive(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int
}

/// Where a standby's kernel sync messages go: the kernel backup daemon, reached by looped multicast
/// (``MulticastInjection``), or an in-memory twin.
public protocol SyncMessageInjecting: Sendable {
    /// Hands one kernel sync message to the kernel backup daemon.
    func inject(_ message: UnsafeRawBufferPointer) throws
}

/// The real capture: an `AF_PACKET` socket on the sync interface, with a BPF filter for the sync group and port,
/// read in batches with `recvmmsg(2)` into buffers allocated once.
public final class PacketCaptureSource: SyncMessageCapturing {
    let capture: PacketCapture
    // Owned by the capture thread: MirroringService calls receive from that one thread only.
    nonisolated(unsafe) let buffers: CaptureBuffers

    /// Opens the capture on `interface` for datagrams to `group`:`port`.
    public init(interface: String, group: IPv4Address, port: UInt16) throws {
        capture = try PacketCapture(interface: interface, group: .v4(group), ports: port...port)
        buffers = CaptureBuffers(slots: 64)
    }

    public func receive(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        do {
            var count = 0
            var timeout = timeoutMilliseconds
            // Drain what is queued now (up to a few batches), then let the caller make a batch of it.
            for _ in 0..<4 {
                let counts = try capture.receive(into: buffers, timeoutMilliseconds: timeout) { payload, _ in
                    body(payload)
                }
                count += counts.datagrams
                if counts.datagrams + counts.skipped < buffers.slots { break }
                timeout = 0
            }
            return count
        }
    }
}

/// The real injection: looped multicast from the sync interface to the kernel backup daemon.
public struct MulticastInjection: SyncMessageInjecting {
    let injector: MulticastInjector

    /// Opens the sending socket on `interface` towards `group`:`port`.
    public init(interface: String, group: IPv4Address, port: UInt16) throws {
        injector = try MulticastInjector(interface: interface, group: .v4(group), port: port)
    }

    public func inject(_ message: UnsafeRawBufferPointer) throws {
        try injector.send(message)
    }
}
