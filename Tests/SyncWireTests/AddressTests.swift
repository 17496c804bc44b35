import SyncWire
import Testing

@Suite("Addresses")
struct AddressTests {
    @Test(
        "IPv6 text round trips in RFC 5952 form",
        arguments: [
            ("fd00::10", "fd00::10"), ("0:0:0:0:0:0:0:1", "::1"), ("::", "::"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("fd00:0000:0000:0000:0000:0000:0000:0100", "fd00::100"), ("::ffff:10.0.0.1", "::ffff:a00:1"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ]
    )
    func ipv6Text(input: String, canonical: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test(
        "bad address text is refused",
        arguments: ["", "1.2.3", "1.2.3.256", "1::2::3", "12345::", ":1:2", "1:2:3:4:5:6:7:8:9", "g::1"]
    )
    func badText(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("endpoints print and parse as the decode contract says")
    func endpoints() {
        #expect(Endpoint(.v4(IPv4Address(10, 0, 0, 10)), 40000).description == "10.0.0.10:40000")
        #expect(Endpoint(.v6(IPv6Address("fd00::10")!), 41000).description == "[fd00::10]:41000")
        #expect(Endpoint("[fd00::10]:41000") == Endpoint(.v6(IPv6Address("fd00::10")!), 41000))
        #expect(Endpoint("0.0.0.7:0")?.address == .v4(IPv4Address(7)))
        #expect(Endpoint("10.0.0.1") == nil)
    }
}
