import SyncWire
import Testing

@Suite("pcap input")
struct PcapFileTests {
    /// A classic little-endian pcap with the given link type and frames.
    static func pcap(linkType: UInt32, frames: [[UInt8]]) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] {
            [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
        }
        var bytes = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(linkType)
        for (i, frame) in frames.enumerated() {
            bytes += le32(1_700_000_000 + UInt32(i)) + le32(0) + le32(UInt32(frame.count)) + le32(UInt32(frame.count))
            bytes += frame
        }
        return bytes
    }

    /// An Ethernet frame carrying an IPv4 UDP datagram 169.254.77.1:40000 → 224.0.0.81:8848.
    static func ethernetUDP(_ payload: [UInt8], flags: UInt8 = 0) -> [UInt8] {
        let udpLength = 8 + payload.count
        let ipLength = 20 + udpLength
        let ethernet: [UInt8] = [1, 0, 0x5e, 0, 0, 0x51, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
        let ip: [UInt8] = [
            0x45, 0, UInt8(ipLength >> 8), UInt8(ipLength & 0xff), 0, 1, flags, 0, 1, 17, 0, 0,
            169, 254, 77, 1, 224, 0, 0, 81,
        ]
        let udp: [UInt8] = [0x9c, 0x40, 0x22, 0x90, UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]
        return ethernet + ip + udp + payload
    }

    @Test("reads UDP payloads from Ethernet frames and skips other packets")
    func readsEthernet() throws {
        let message = Sample.v1([Sample.tcpDirectRoute])
        let igmp: [UInt8] =
            [1, 0, 0x5e, 0, 0, 0x16, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x46, 0, 0, 24, 0, 0, 0, 0, 1, 2]
            + Array(repeating: 0, count: 20)
        let file = try PcapFile(bytes: Self.pcap(linkType: 1, frames: [igmp, Self.ethernetUDP(message)]))
        #expect(file.problems.isEmpty)
        #expect(file.datagrams.count == 1)
        #expect(file.datagrams[0].payload == message)
        #expect(file.datagrams[0].packetIndex == 1)
        #expect(file.datagrams[0].destination.description == "224.0.0.81:8848")
        #expect(file.datagrams[0].source.description == "169.254.77.1:40000")
    }

    @Test("reports fragments and truncation per packet and refuses foreign files")
    func problems() throws {
        let fragment = Self.ethernetUDP([1, 2, 3, 4], flags: 0x20)
        var truncated = Self.pcap(linkType: 1, frames: [fragment])
        truncated.removeLast(3)
        let file = try PcapFile(bytes: truncated)
        #expect(file.datagrams.isEmpty)
        #expect(file.problems.count == 1)
        #expect(file.problems[0].description.contains("file ends first"))
        let fragmented = try PcapFile(bytes: Self.pcap(linkType: 1, frames: [fragment]))
        #expect(fragmented.problems[0].description.contains("IPv4 fragment"))
        #expect(
            throws: SyncWireError(.pcap("pcapng is not supported; write classic pcap (tcpdump -w does by default)"))
        ) {
            try PcapFile(bytes: [0x0a, 0x0d, 0x0d, 0x0a] + Array(repeating: 0, count: 24))
        }
        #expect(throws: SyncWireError.self) { try PcapFile(bytes: [1, 2, 3]) }
    }

    @Test("frames shorter than their link header are passed over (found by the fuzzer)", arguments: [0, 1, 113, 276])
    func shortFrames(linkType: UInt32) throws {
        for length in 0..<24 {
            let frame = [UInt8](repeating: 0x45, count: length)
            let file = try PcapFile(bytes: Self.pcap(linkType: linkType, frames: [frame]))
            #expect(file.datagrams.isEmpty)
        }
    }

    @Test("hex lines: comments, blanks and bad lines by number")
    func hexLines() {
        let parsed = HexMessages.parse("# capture\n0a0b\n\n0a0\nzz\n0A:0B 0c\n")
        #expect(parsed.messages.map(\.bytes) == [[10, 11], [10, 11, 12]])
        #expect(parsed.messages.map(\.line) == [2, 6])
        #expect(parsed.problems.map(\.line) == [4, 5])
        #expect(HexMessages.hex([0, 0xab, 0x10]) == "00ab10")
    }
}
