import SyncWire

/// The bytes of the announcement packets ``NeighbourAnnouncer`` sends (as `ops/lab/lib/announce.py` does, except
/// that the Neighbour Advertisement carries Override without Router).
enum AnnouncementPackets {
    /// EtherType of ARP.
    static let etherTypeARP: UInt16 = 0x0806
    /// The shortest Ethernet frame without its FCS: shorter frames are padded with zeros.
    static let minimumFrameLength = 60
    /// The Neighbour Advertisement's Override flag (RFC 4861 §4.4); Router is 0x8000_0000, Solicited 0x4000_0000.
    static let overrideFlag: UInt32 = 0x2000_0000

    /// A whole Ethernet frame: a gratuitous ARP request to the broadcast, sender and target protocol address
    /// `address`, sender hardware address `mac`, target hardware address zero, padded to 60 bytes.
    static func gratuitousARP(_ address: IPv4Address, from mac: MACAddress) -> [UInt8] {
        let ip = IPAddress.v4(address).networkBytes
        var frame = MACAddress.broadcast.bytes + mac.bytes + bigEndian(etherTypeARP)
        frame += bigEndian(UInt16(1)) + bigEndian(UInt16(0x0800)) + [6, 4] + bigEndian(UInt16(1))
        frame += mac.bytes + ip + [UInt8](repeating: 0, count: 6) + ip
        frame += [UInt8](repeating: 0, count: max(0, minimumFrameLength - frame.count))
        return frame
    }

    /// An ICMPv6 Neighbour Advertisement (type 136) with the Override flag, target `address` and a Target
    /// Link-Layer Address option (type 2, length 1) holding `mac`. The checksum is left zero: the kernel fills it
    /// in for a raw ICMPv6 socket.
    static func unsolicitedNeighbourAdvertisement(_ address: IPv6Address, from mac: MACAddress) -> [UInt8] {
        [136, 0, 0, 0] + bigEndian(overrideFlag) + IPAddress.v6(address).networkBytes + [2, 1] + mac.bytes
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
