import CHostNetwork
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// Captures the kernel *master* sync thread's messages on this host: an `AF_PACKET` socket bound with `ETH_P_ALL`
/// to the sync interface sees every outgoing frame before the driver (a dummy interface drops them, so nothing
/// leaves the host). See `research/kernel-ipvs.md` §3.9.
///
/// Only outgoing UDP datagrams to the sync group and port range are returned. A classic BPF filter in the kernel
/// (``SyncFilter``) keeps everything else (IGMP and MLD reports on the interface, anything received) from even
/// waking the socket; the same checks are made again in userspace.
///
/// Two ways to read: ``receive(timeoutMilliseconds:packetIndex:)`` returns one datagram as values (for tools), and
/// ``receive(into:timeoutMilliseconds:_:)`` drains a batch per wakeup into reused buffers (the relay's hot path).
public final class PacketCapture: Sendable {
    /// The interface captured on.
    public let interface: String
    /// The sync group the datagrams are sent to.
    public let group: IPAddress
    /// The UDP destination ports accepted (the kernel's base port up to base + `sync_ports` − 1).
    public let ports: ClosedRange<UInt16>
    let descriptor: Int32
    /// The batch buffers ``receive(timeoutMilliseconds:_:)`` reads into, allocated once; owned by the one thread that
    /// calls it (the daemon's capture thread).
    nonisolated(unsafe) let batch = CaptureBuffers(slots: 64)

    /// Opens the capture socket, attaches the filter and binds it to `interface` (needs `CAP_NET_RAW`).
    /// - Parameters:
    ///   - interface: the interface the kernel master sends on.
    ///   - group: the sync group (the kernel's default: 224.0.0.81).
    ///   - ports: the UDP destination ports (the kernel's base port 8848 up to base + `sync_ports` − 1).
    ///   - receiveBufferBytes: the socket's receive buffer (`SO_RCVBUFFORCE`, past `rmem_max`; nil: the kernel's
    ///     default). A burst of the kernel master that overflows it is dropped and counted (``statistics()``).
    public init(
        interface: String,
        group: IPAddress = .v4(IPv4Address(224, 0, 0, 81)),
        ports: ClosedRange<UInt16> = 8848...8848,
        receiveBufferBytes: Int? = nil
    ) throws(HostNetworkError) {
        self.interface = interface
        self.group = group
        self.ports = ports
        let index = if_nametoindex(interface)
        guard index != 0 else {
            throw HostNetworkError(operation: "if_nametoindex(\(interface))", errno: Glibc.errno)
        }
        // Protocol 0 receives nothing until bind() names ETH_P_ALL: no frame is queued before the filter is on.
        let fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostNetworkError(operation: "socket(AF_PACKET)", errno: Glibc.errno) }
        var program = SyncFilter.program(group: group, ports: ports)
        let attached = program.withUnsafeMutableBufferPointer { instructions in
            var filter = sock_fprog(len: UInt16(instructions.count), filter: instructions.baseAddress)
            return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, socklen_t(MemoryLayout<sock_fprog>.size))
        }
        guard attached == 0 else {
            let error = Glibc.errno
            close(fd)
            throw HostNetworkError(operation: "setsockopt(SO_ATTACH_FILTER) for \(interface)", errno: error)
        }
        if let receiveBufferBytes {
            var size = Int32(clamping: receiveBufferBytes)
            let length = socklen_t(MemoryLayout<Int32>.size)
            // FORCE passes rmem_max (CAP_NET_ADMIN, which the daemon has); the kernel doubles what it is given.
            let forced = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, length) == 0
            guard forced || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, length) == 0 else {
                let error = Glibc.errno
                close(fd)
                throw HostNetworkError(
                    operation: "setsockopt(SO_RCVBUF, \(receiveBufferBytes)) for \(interface)",
                    errno: error
                )
            }
        }
        let allProtocols = CHostNetwork_ethPAllNetworkOrder()
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = allProtocols
        address.sll_ifindex = Int32(index)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
            }
        }
        guard bound == 0 else {
            let error = Glibc.errno
            close(fd)
            throw HostNetworkError(operation: "bind(AF_PACKET) to \(interface)", errno: error)
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// What one wait for a datagram gave.
    public enum Received: Sendable {
        /// A sync datagram.
        case datagram(CapturedDatagram)
        /// A frame that was not a sync datagram, or was damaged (with the reason).
        case skipped(SyncWireError?)
        /// Nothing arrived within the timeout.
        case timedOut
    }

    /// What the kernel counted since the previous call (reading resets the counters).
    public struct Statistics: Hashable, Sendable {
        /// Frames the filter accepted and the socket queued.
        public var accepted: UInt32
        /// Frames the filter accepted but the full socket buffer dropped.
        public var dropped: UInt32
    }

    /// The socket's counters (`PACKET_STATISTICS`) since the previous call.
    public func statistics() throws(HostNetworkError) -> Statistics {
        var stats = tpacket_stats()
        var length = socklen_t(MemoryLayout<tpacket_stats>.size)
        guard getsockopt(descriptor, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0 else {
            throw HostNetworkError(operation: "getsockopt(PACKET_STATISTICS) on \(interface)", errno: Glibc.errno)
        }
        return Statistics(accepted: stats.tp_packets, dropped: stats.tp_drops)
    }

    /// Waits up to `timeoutMilliseconds` for one frame and returns what it held. Allocates per call; the relay
    /// uses ``receive(into:timeoutMilliseconds:_:)``.
    public func receive(timeoutMilliseconds: Int32, packetIndex: Int = 0) throws(HostNetworkError) -> Received {
        guard try waitReadable(timeoutMilliseconds) else { return .timedOut }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var from = sockaddr_ll()
        var fromLength = socklen_t(MemoryLayout<sockaddr_ll>.size)
        let length = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &fromLength)
                }
            }
        }
        if length < 0 {
            if Glibc.errno == EAGAIN || Glibc.errno == EINTR { return .timedOut }
            throw HostNetworkError(operation: "recv(AF_PACKET on \(interface))", errno: Glibc.errno)
        }
        // Only what this host sends: on a loopback or a real NIC the same group traffic also arrives inbound.
        guard from.sll_pkttype == UInt8(PACKET_OUTGOING) else { return .skipped(nil) }
        let parsed: (source: Endpoint, destination: Endpoint, payload: [UInt8])?
        do {
            parsed = try UDPDatagram.parse(ipPacket: buffer[0..<length])
        } catch {
            return .skipped(error)
        }
        guard let parsed, parsed.destination.address == group, ports.contains(parsed.destination.port) else {
            return .skipped(nil)
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return .datagram(
            CapturedDatagram(
                packetIndex: packetIndex,
                timestamp: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9,
                source: parsed.source,
                destination: parsed.destination,
                payload: parsed.payload
            )
        )
    }

    /// Waits up to `timeoutMilliseconds` for a frame; false on timeout or a signal.
    func waitReadable(_ timeoutMilliseconds: Int32) throws(HostNetworkError) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, timeoutMilliseconds)
        if ready < 0 {
            if Glibc.errno == EINTR { return false }
            throw HostNetworkError(operation: "poll(AF_PACKET on \(interface))", errno: Glibc.errno)
        }
        return ready > 0
    }
}
