import HostNetwork
import SyncWire

/// Where the active director's kernel sync messages come from: the kernel master daemon's multicast, captured
/// (``PacketCaptureSource``), or an in-memory twin in tests and benchmarks.
public protocol SyncMessageCapturing: Sendable {
    /// Waits up to `timeoutMilliseconds` for messages and calls `body` with each one that arrived (the UDP payload),
    /// without blocking once at least one has.
    /// - Returns: the number of messages passed to `body`.
    func receive(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int
}

/// Where a standby's kernel sync messages go: the kernel backup daemon, reached by looped multicast
/// (``MulticastInjection``), or an in-memory twin.
public protocol SyncMessageInjecting: Sendable {
    /// Hands one kernel sync message to the kernel backup daemon.
    func inject(_ message: UnsafeRawBufferPointer) throws
}

/// The real capture: an `AF_PACKET` socket on the sync interface.
public struct PacketCaptureSource: SyncMessageCapturing {
    let capture: PacketCapture

    /// Opens the capture on `interface` for datagrams to `port`.
    public init(interface: String, port: UInt16) throws {
        capture = try PacketCapture(interface: interface, ports: port...port)
    }

    public func receive(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        var count = 0
        var timeout = timeoutMilliseconds
        while count < 256 {
            switch try capture.receive(timeoutMilliseconds: timeout) {
            case .datagram(let datagram):
                datagram.payload.withUnsafeBytes(body)
                count += 1
            case .skipped:
                break
            case .timedOut:
                return count
            }
            timeout = 0
        }
        return count
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
        try injector.send(Array(message))
    }
}
