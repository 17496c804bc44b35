import SyncWire

/// Where the UDP payload of an IP packet is, read in place (the relay's hot path allocates nothing per packet).
enum UDPPayload {
    /// The payload's byte range and the destination port, when `packet` (from its IP header on) is a whole UDP
    /// datagram (IPv4, or IPv6 without extension headers) to `group` with a destination port in `ports`; nil for
    /// anything else (another protocol or group, an IP fragment, a damaged header or length).
    static func locate(
        in packet: UnsafeRawBufferPointer,
        group: IPAddress,
        ports: ClosedRange<UInt16>
    ) -> (payload: Range<Int>, port: UInt16)? {
        func be16(_ o: Int) -> UInt16 { UInt16(packet[o]) << 8 | UInt16(packet[o + 1]) }
        func be32(_ o: Int) -> UInt32 { UInt32(be16(o)) << 16 | UInt32(be16(o + 2)) }
        guard !packet.isEmpty else { return nil }
        let udp: Int
        switch group {
        case .v4(let address):
            guard packet[0] >> 4 == 4, packet.count >= 20 else { return nil }
            let headerLength = Int(packet[0] & 0x0f) * 4
            guard headerLength >= 20, packet.count >= headerLength, packet[9] == 17,
                be16(6) & 0x3fff == 0, be32(16) == address.value
            else { return nil }
            udp = headerLength
        case .v6(let address):
            guard packet[0] >> 4 == 6, packet.count >= 40, packet[6] == 17,
                UInt64(be32(24)) << 32 | UInt64(be32(28)) == address.high,
                UInt64(be32(32)) << 32 | UInt64(be32(36)) == address.low
            else { return nil }
            udp = 40
        }
        guard packet.count >= udp + 8 else { return nil }
        let port = be16(udp + 2)
        let length = Int(be16(udp + 4))
        guard ports.contains(port), length >= 8, udp + length <= packet.count else { return nil }
        return ((udp + 8)..<(udp + length), port)
    }
}
