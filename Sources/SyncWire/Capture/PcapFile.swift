/// One UDP datagram read from a capture file.
public struct CapturedDatagram: Hashable, Sendable {
    /// Creates a datagram record.
    public init(packetIndex: Int, timestamp: Double, source: Endpoint, destination: Endpoint, payload: [UInt8]) {
        self.packetIndex = packetIndex
        self.timestamp = timestamp
        self.source = source
        self.destination = destination
        self.payload = payload
    }

    /// The packet's index in the file (0-based), counting every packet, UDP or not.
    public var packetIndex: Int
    /// Capture time, seconds since the epoch.
    public var timestamp: Double
    /// The sender.
    public var source: Endpoint
    /// The receiver (for the kernel's sync traffic, the group and port such as 224.0.0.81:8848).
    public var destination: Endpoint
    /// The UDP payload.
    public var payload: [UInt8]
}

/// Reads the UDP datagrams of a classic pcap file, as `tcpdump -w` writes it on the sync interface.
///
/// Link types: Ethernet (a dummy or veth), Linux cooked v1 and v2 (`-i any`), raw IP and BSD loopback.
/// Non-UDP packets (IGMP and MLD reports on the sync interface) are passed over; IP fragments, truncated
/// packets and UDP lengths that disagree with the packet are reported as problems.
public struct PcapFile: Sendable {
    /// The UDP datagrams, in file order.
    public var datagrams: [CapturedDatagram]
    /// Problems with individual packets; a bad file header is thrown instead.
    public var problems: [SyncWireError]

    /// Parses a whole pcap file.
    /// - Throws: ``SyncWireError`` when the file header is not a classic pcap header.
    public init(bytes: [UInt8]) throws(SyncWireError) {
        datagrams = []
        problems = []
        func fail(_ why: String) -> SyncWireError { SyncWireError(.pcap(why)) }
        guard bytes.count >= 24 else { throw fail("file of \(bytes.count) bytes is shorter than the 24-byte header") }
        let magic = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        let littleEndian: Bool
        let nanoseconds: Bool
        switch magic {
        case 0xd4c3_b2a1: (littleEndian, nanoseconds) = (true, false)
        case 0x4d3c_b2a1: (littleEndian, nanoseconds) = (true, true)
        case 0xa1b2_c3d4: (littleEndian, nanoseconds) = (false, false)
        case 0xa1b2_3c4d: (littleEndian, nanoseconds) = (false, true)
        case 0x0a0d_0d0a: throw fail("pcapng is not supported; write classic pcap (tcpdump -w does by default)")
        default: throw fail("unknown magic 0x\(String(magic, radix: 16)); not a pcap file")
        }
        func u32(_ o: Int) -> UInt32 {
            let b = (UInt32(bytes[o]), UInt32(bytes[o + 1]), UInt32(bytes[o + 2]), UInt32(bytes[o + 3]))
            return littleEndian ? b.0 | b.1 << 8 | b.2 << 16 | b.3 << 24 : b.0 << 24 | b.1 << 16 | b.2 << 8 | b.3
        }
        let linkType = u32(20) & 0x0fff_ffff
        guard [0, 1, 101, 12, 113, 276].contains(linkType) else {
            throw fail("link type \(linkType) is not supported (Ethernet, Linux cooked, raw IP or loopback)")
        }
        var offset = 24
        var index = 0
        while offset < bytes.count {
            guard offset + 16 <= bytes.count else {
                problems.append(SyncWireError(.pcap("packet \(index): record header cut off at end of file")))
                break
            }
            let seconds = Double(u32(offset))
            let fraction = Double(u32(offset + 4)) / (nanoseconds ? 1e9 : 1e6)
            let captured = Int(u32(offset + 8))
            let original = Int(u32(offset + 12))
            let start = offset + 16
            guard start + captured <= bytes.count else {
                problems.append(SyncWireError(.pcap("packet \(index): \(captured) bytes announced, file ends first")))
                break
            }
            if captured < original {
                problems.append(
                    SyncWireError(.pcap("packet \(index): captured \(captured) of \(original) bytes (snap length)"))
                )
            } else {
                let packet = bytes[start..<(start + captured)]
                do {
                    if let datagram = try Self.udpDatagram(in: packet, linkType: linkType) {
                        datagrams.append(
                            CapturedDatagram(
                                packetIndex: index,
                                timestamp: seconds + fraction,
                                source: datagram.source,
                                destination: datagram.destination,
                                payload: datagram.payload
                            )
                        )
                    }
                } catch {
                    problems.append(SyncWireError(.pcap("packet \(index): \(error.reason)")))
                }
            }
            offset = start + captured
            index += 1
        }
    }

    /// Finds the network-layer start and protocol of a link-layer frame, then the UDP datagram in it.
    static func udpDatagram(
        in packet: ArraySlice<UInt8>,
        linkType: UInt32
    ) throws(SyncWireError) -> (source: Endpoint, destination: Endpoint, payload: [UInt8])? {
        let p = Array(packet)
        func be16(_ o: Int) -> Int { Int(p[o]) << 8 | Int(p[o + 1]) }
        var networkStart: Int
        var etherType: Int?
        switch linkType {
        case 1:  // Ethernet, with up to two VLAN tags
            guard p.count >= 14 else { throw SyncWireError(.pcap("Ethernet frame of \(p.count) bytes")) }
            networkStart = 14
            etherType = be16(12)
            while etherType == 0x8100 || etherType == 0x88a8, p.count >= networkStart + 4 {
                etherType = be16(networkStart + 2)
                networkStart += 4
            }
        case 113:  // Linux cooked v1: protocol at 14
            guard p.count >= 16 else { throw SyncWireError(.pcap("cooked header cut off")) }
            networkStart = 16
            etherType = be16(14)
        case 276:  // Linux cooked v2: protocol at 0
            guard p.count >= 20 else { throw SyncWireError(.pcap("cooked v2 header cut off")) }
            networkStart = 20
            etherType = be16(0)
        case 0:  // BSD loopback: 4-byte family in host order
            networkStart = 4
        default:  // raw IP
            networkStart = 0
        }
        if let etherType, etherType != 0x0800, etherType != 0x86dd { return nil }
        guard p.count > networkStart else { return nil }
        return try UDPDatagram.parse(ipPacket: p[networkStart...])
    }
}

/// Reads the UDP datagram in an IPv4 or IPv6 packet (no link-layer header), as an `AF_PACKET` `SOCK_DGRAM`
/// socket or a raw-IP capture delivers it.
public enum UDPDatagram {
    /// Returns the datagram's endpoints and payload, nil for a packet that is not UDP (IGMP, MLD, …).
    /// - Throws: ``SyncWireError`` for a damaged packet or an IP fragment.
    public static func parse(
        ipPacket packet: ArraySlice<UInt8>
    ) throws(SyncWireError) -> (source: Endpoint, destination: Endpoint, payload: [UInt8])? {
        let p = Array(packet)
        func be16(_ o: Int) -> Int { Int(p[o]) << 8 | Int(p[o + 1]) }
        let networkStart = 0
        guard p.count > networkStart else { return nil }
        let ipVersion = p[networkStart] >> 4
        var udpStart: Int
        let source: IPAddress
        let destination: IPAddress
        switch ipVersion {
        case 4:
            guard p.count >= networkStart + 20 else { throw SyncWireError(.pcap("IPv4 header cut off")) }
            let headerLength = Int(p[networkStart] & 0x0f) * 4
            guard headerLength >= 20, p.count >= networkStart + headerLength else {
                throw SyncWireError(.pcap("IPv4 header length \(headerLength) is invalid"))
            }
            guard p[networkStart + 9] == 17 else { return nil }
            let fragment = be16(networkStart + 6)
            guard fragment & 0x3fff == 0 else {
                throw SyncWireError(.pcap("IPv4 fragment; lower sync_maxlen below the interface MTU"))
            }
            let v4 = { (o: Int) in IPv4Address(p[o], p[o + 1], p[o + 2], p[o + 3]) }
            source = .v4(v4(networkStart + 12))
            destination = .v4(v4(networkStart + 16))
            udpStart = networkStart + headerLength
        case 6:
            guard p.count >= networkStart + 40 else { throw SyncWireError(.pcap("IPv6 header cut off")) }
            guard p[networkStart + 6] == 17 else { return nil }
            let v6 = { (o: Int) in
                IPv6Address(groups: (0..<8).map { UInt16(be16(o + 2 * $0)) })
            }
            source = .v6(v6(networkStart + 8))
            destination = .v6(v6(networkStart + 24))
            udpStart = networkStart + 40
        default:
            return nil
        }
        guard p.count >= udpStart + 8 else { throw SyncWireError(.pcap("UDP header cut off")) }
        let udpLength = be16(udpStart + 4)
        guard udpLength >= 8, udpStart + udpLength <= p.count else {
            throw SyncWireError(.pcap("UDP length \(udpLength) disagrees with the \(p.count - udpStart) bytes present"))
        }
        return (
            Endpoint(source, UInt16(be16(udpStart))),
            Endpoint(destination, UInt16(be16(udpStart + 2))),
            Array(p[(udpStart + 8)..<(udpStart + udpLength)])
        )
    }
}
