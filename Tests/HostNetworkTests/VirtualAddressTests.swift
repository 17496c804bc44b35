import HostNetwork
import SyncWire
import Testing

@Suite("Virtual addresses")
struct VirtualAddressTests {
    @Test("a bare address gets a host prefix: /32 for IPv4, /128 for IPv6")
    func hostPrefixByDefault() throws {
        let v4 = try #require(VirtualAddress(interface: "eth0", "10.0.0.100"))
        #expect(v4.address == .v4(IPv4Address(10, 0, 0, 100)))
        #expect(v4.prefixLength == 32)
        #expect(v4.interface == "eth0")
        let v6 = try #require(VirtualAddress(interface: "eth0", "fd00::100"))
        #expect(v6.address == IPAddress("fd00::100"))
        #expect(v6.prefixLength == 128)
    }

    @Test(
        "an explicit prefix length is kept",
        arguments: [("10.0.0.1/24", 24), ("fd00::100/64", 64), ("0.0.0.0/0", 0)]
    )
    func explicitPrefix(text: String, length: Int) throws {
        let address = try #require(VirtualAddress(interface: "eth1", text))
        #expect(Int(address.prefixLength) == length)
        #expect(address.cidr == text)
    }

    @Test(
        "anything else is refused",
        arguments: [
            "", "10.0.0", "10.0.0.1/33", "fd00::1/129", "10.0.0.1/", "/24", "10.0.0.1/+4", "10.0.0.1/ 4",
            "10.0.0.1/24/1", "10.0.0.1/0024", "fd00:::1", "host.example", "10.0.0.1/٣",
        ]
    )
    func refused(text: String) {
        #expect(VirtualAddress(interface: "eth0", text) == nil)
    }

    @Test("text forms: cidr and description name the interface")
    func text() {
        let address = VirtualAddress(interface: "eth0", address: IPAddress("fd00::100")!, prefixLength: 64)
        #expect(address.cidr == "fd00::100/64")
        #expect(address.description == "fd00::100/64 on eth0")
        #expect(
            VirtualAddress(interface: "eth0", address: IPAddress("10.0.0.100")!).description == "10.0.0.100/32 on eth0"
        )
    }

    @Test("interface, address and prefix length all take part in equality")
    func equality() {
        let a = VirtualAddress(interface: "eth0", "10.0.0.100")
        #expect(a == VirtualAddress(interface: "eth0", "10.0.0.100/32"))
        #expect(a != VirtualAddress(interface: "eth0", "10.0.0.100/24"))
        #expect(a != VirtualAddress(interface: "eth1", "10.0.0.100"))
        #expect(a != VirtualAddress(interface: "eth0", "10.0.0.101"))
    }

    @Test("MAC addresses parse and print lowercase with colons")
    func macAddress() throws {
        let mac = try #require(MACAddress("02:AB:0c:00:ff:10"))
        #expect(mac.bytes == [0x02, 0xab, 0x0c, 0x00, 0xff, 0x10])
        #expect(mac.description == "02:ab:0c:00:ff:10")
        #expect(MACAddress("02:ab:0c:00:ff") == nil)
        #expect(MACAddress("02:ab:0c:00:ff:1") == nil)
        #expect(MACAddress("02:ab:0c:00:ff:100") == nil)
    }
}
