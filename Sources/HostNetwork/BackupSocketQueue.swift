import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// The receive queue of the kernel backup thread's socket, as this network namespace's `/proc/net/udp` (or `udp6`)
/// lists it: what a standby's injections wait in before the backup thread reads them, and how many it lost.
///
/// The backup thread's socket is bound to the sync group and port (`make_receive_sock()`: `bind(group, port)`), so
/// it is the line whose local address is exactly the group's. `rx_queue` is the socket's `sk_rmem_alloc` (bytes
/// in the kernel's own accounting, the datagrams' truesize), `drops` its `sk_drops`: a datagram that found the
/// queue full (`sk_rcvbuf`) is counted there — and in `UdpRcvbufErrors` — and is gone, while `sendto()` reported
/// success.
public struct BackupSocketQueue: Hashable, Sendable {
    /// Bytes queued for the backup thread (the kernel's truesize accounting).
    public var queued: Int
    /// Datagrams dropped because the queue was full, since the socket was made.
    public var drops: UInt64
    /// The socket's inode: a new one means the backup thread was restarted (its drop count starts again).
    public var inode: UInt64

    /// A queue's figures.
    public init(queued: Int, drops: UInt64, inode: UInt64) {
        self.queued = queued
        self.drops = drops
        self.inode = inode
    }

    /// The figures of the socket bound to `local` in a `/proc/net/udp` or `/proc/net/udp6` text, nil when there is
    /// none (no backup thread runs). Lines that do not parse are skipped.
    public static func parse(_ text: String, local: Endpoint) -> BackupSocketQueue? {
        let wanted = procAddress(local)
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 13, fields[1] == wanted else { continue }
            let queues = fields[4].split(separator: ":")
            guard queues.count == 2, let queued = Int(queues[1], radix: 16),
                let inode = UInt64(fields[9]), let drops = UInt64(fields[12])
            else { continue }
            return BackupSocketQueue(queued: queued, drops: drops, inode: inode)
        }
        return nil
    }

    /// `local` as `/proc/net/udp{,6}` prints it: each 32-bit word of the address (in network order in memory)
    /// loaded as a native integer and printed `%08X`, then `:` and the port as `%04X`.
    static func procAddress(_ endpoint: Endpoint) -> Substring {
        var text = ""
        switch endpoint.address {
        case .v4(let a):
            text = hex(a.value.bigEndian, width: 8)
        case .v6(let a):
            for half in [a.high, a.low] {
                text += hex(UInt32(truncatingIfNeeded: half >> 32).bigEndian, width: 8)
                text += hex(UInt32(truncatingIfNeeded: half).bigEndian, width: 8)
            }
        }
        return Substring(text + ":" + hex(UInt32(endpoint.port), width: 4))
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// Reads the kernel backup thread's receive queue and the size it may grow to, for pacing injections.
public protocol BackupQueueReading: Sendable {
    /// The queue now, nil when no backup socket is bound (no backup thread runs).
    func queue() -> BackupSocketQueue?
    /// The most the queue holds before the kernel drops (`sk_rcvbuf`, in the same units as ``BackupSocketQueue/queued``).
    var capacity: Int { get }
}

/// ``BackupQueueReading`` from this network namespace's `/proc`: the socket in `/proc/net/udp` (`udp6` for an IPv6
/// group), the capacity from the sysctls the kernel sizes it with (`net.ipv4.vs.sync_sock_size`, else
/// `net.core.rmem_default`).
public struct ProcBackupQueueReader: BackupQueueReading {
    /// The sync group and port the backup thread is bound to.
    public let local: Endpoint
    /// The capacity read when the reader was made.
    public let capacity: Int

    /// A reader of the socket bound to `group`:`port`.
    public init(group: IPAddress = .v4(IPv4Address(224, 0, 0, 81)), port: UInt16 = 8848) {
        local = Endpoint(group, port)
        capacity = Self.receiveBufferSize()
    }

    public func queue() -> BackupSocketQueue? {
        let path = local.address.family == .inet ? "/proc/net/udp" : "/proc/net/udp6"
        guard let text = readSmallFile(path) else { return nil }
        return BackupSocketQueue.parse(text, local: local)
    }

    /// What `make_receive_sock()` gives the backup socket: `set_sock_size()` with `sync_sock_size` when it is set
    /// (`sk_rcvbuf = max(2 × min(size, rmem_max), SOCK_MIN_RCVBUF)`), the namespace's `rmem_default` otherwise.
    static func receiveBufferSize() -> Int {
        func number(_ path: String) -> Int? {
            readSmallFile(path).flatMap { Int($0.split(whereSeparator: { $0 == " " || $0 == "\n" }).first ?? "") }
        }
        let minimum = 2_304
        if let size = number("/proc/sys/net/ipv4/vs/sync_sock_size"), size > 0 {
            let limit = number("/proc/sys/net/core/rmem_max") ?? size
            return max(2 * min(size, limit), minimum)
        }
        return number("/proc/sys/net/core/rmem_default") ?? 212_992
    }
}

/// Reads `/proc` files whole. They report size 0, so they are read until the end; and in large reads, because the
/// kernel's `seq_file` tables start each `read(2)` again from the first entry (`ip_vs_conn_seq_start()` walks the
/// table up to the position asked for): with 4 KiB reads a table of 200 000 connections costs some 7 500 walks of
/// up to all of it, with 4 MiB reads eight.
public enum ProcFile {
    /// The file's text, nil when it cannot be read.
    public static func text(_ path: String, readSize: Int = 4 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: readSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A small `/proc` file's text, nil when it cannot be read.
func readSmallFile(_ path: String) -> String? {
    ProcFile.text(path, readSize: 65_536)
}
