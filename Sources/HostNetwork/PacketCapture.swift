import CHostNetwork
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// Captures the kernel *master* sync thread's messages on this host: an `AF_PACKET` socket bound with `ETH_P_ALL`
/// to the sync interface sees every outgoing frame before the driver (a dummy interface drops them, so nothing
/// leaves the host). See `research/kernel-ipvs.md` §3.9.
///
/// Only outgoing UDP datagrams to the sync port range are returned; IGMP and MLD reports on the interface and
/// anything received are passed over.
public final class PacketCapture: Sendable {
    /// The interface captured on.
    public let interface: String
    /// The UDP destination ports accepted (the kernel's base port up to base + `sync_ports` − 1).
    public let ports: ClosedRange<UInt16>
    private let descriptor: Int32

    /// Opens and binds the capture socket (needs `CAP_NET_RAW`).
    public init(interface: String, ports: ClosedRange<UInt16> = 8848...8848) throws(HostNetworkError) {
        self.interface = interface
        self.ports = ports
        let index = if_nametoindex(interface)
        guard index != 0 else {
            throw HostNetworkError(operation: "if_nametoindex(\(interface))", errno: Glibc.errno)
        }
        let allProtocols = CHostNetwork_ethPAllNetworkOrder()
        let fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(allProtocols))
        guard fd >= 0 else { throw HostNetworkError(operation: "socket(AF_PACKET, ETH_P_ALL)", errno: Glibc.errno) }
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

    /// Waits up to `timeoutMilliseconds` for one frame and returns what it held.
    public func receive(timeoutMilliseconds: Int32, packetIndex: Int = 0) throws(HostNetworkError) -> Received {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, timeoutMilliseconds)
        if ready < 0 {
            if Glibc.errno == EINTR { return .timedOut }
            throw HostNetworkError(operation: "poll(AF_PACKET on \(interface))", errno: Glibc.errno)
        }
        if ready == 0 { return .timedOut }
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
        guard let parsed, ports.contains(parsed.destination.port) else { return .skipped(nil) }
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
}
