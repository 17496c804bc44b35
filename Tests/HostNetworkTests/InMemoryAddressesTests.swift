import HostNetwork
import LVSyncTestSupport
import SyncWire
import Testing

@Suite("In-memory addresses (the kernel's twin)")
struct InMemoryAddressesTests {
    static let v4 = VirtualAddress(interface: "eth0", "10.0.0.100")!
    static let v6 = VirtualAddress(interface: "eth0", "fd00::100")!

    @Test("add and remove are idempotent: true when they changed something, false when not")
    func idempotent() throws {
        let table = InMemoryAddresses(interfaces: ["eth0"])
        for address in [Self.v4, Self.v6] {
            #expect(try !table.holds(address))
            #expect(try table.add(address))
            #expect(try table.holds(address))
            #expect(try !table.add(address))
        }
        #expect(table.addresses == [Self.v4, Self.v6])
        for address in [Self.v4, Self.v6] {
            #expect(try table.remove(address))
            #expect(try !table.holds(address))
            #expect(try !table.remove(address))
        }
        #expect(table.addresses.isEmpty)
    }

    @Test("an unknown interface is refused with the kernel's words, naming the address and the interface")
    func unknownInterface() {
        let table = InMemoryAddresses(interfaces: ["eth0"])
        let address = VirtualAddress(interface: "eth9", "10.0.0.100")!
        let expected = "add address 10.0.0.100/32 to eth9: No such device (errno 19): no interface eth9"
        #expect(
            throws: HostNetworkError(
                operation: "add address 10.0.0.100/32 to eth9",
                errno: 19,
                detail: "no interface eth9"
            )
        ) {
            try table.add(address)
        }
        do {
            try table.add(address)
        } catch {
            #expect(error.description == expected)
        }
        #expect(throws: HostNetworkError.self) { try table.remove(address) }
        #expect(throws: HostNetworkError.self) { try table.holds(address) }
        #expect(table.addresses.isEmpty)
    }

    @Test("without a set of interfaces, every interface exists")
    func anyInterface() throws {
        let table = InMemoryAddresses()
        #expect(try table.add(VirtualAddress(interface: "whatever0", "10.0.0.1")!))
    }

    @Test("the prefix length is part of the address: a /24 is not the /32")
    func prefixLength() throws {
        let table = InMemoryAddresses(interfaces: ["eth0"])
        try table.add(Self.v4)
        let wide = VirtualAddress(interface: "eth0", "10.0.0.100/24")!
        #expect(try !table.holds(wide))
        #expect(try !table.remove(wide))
        #expect(try table.add(wide), "IPv4 keeps one entry per prefix length, as the kernel does")
        #expect(table.addresses == [Self.v4, wide])
    }

    @Test("an IPv6 address held with another prefix length cannot be added again (one entry per address)")
    func ipv6OtherPrefix() throws {
        let table = InMemoryAddresses(interfaces: ["eth0"])
        try table.add(Self.v6)
        let wide = VirtualAddress(interface: "eth0", "fd00::100/64")!
        do {
            try table.add(wide)
            Issue.record("added \(wide) beside \(Self.v6)")
        } catch {
            #expect(error.errno == 17)
            #expect(error.description.contains("eth0 has fd00::100 with another prefix length"))
        }
        #expect(table.addresses == [Self.v6])
    }

    @Test("the same address on another interface is another address")
    func otherInterface() throws {
        let table = InMemoryAddresses(interfaces: ["eth0", "eth1"])
        try table.add(Self.v4)
        let other = VirtualAddress(interface: "eth1", "10.0.0.100")!
        #expect(try !table.holds(other))
        #expect(try table.add(other))
    }

    @Test("a removed interface takes its addresses with it; an added one becomes usable")
    func interfacesComeAndGo() throws {
        let table = InMemoryAddresses(interfaces: ["eth0"])
        try table.add(Self.v4)
        table.removeInterface("eth0")
        #expect(table.addresses.isEmpty)
        #expect(throws: HostNetworkError.self) { try table.holds(Self.v4) }
        table.addInterface("eth0")
        #expect(try !table.holds(Self.v4))
        #expect(try table.add(Self.v4))
    }

    @Test("an injected failure is thrown by every call until cleared")
    func injectedFailure() throws {
        let table = InMemoryAddresses(interfaces: ["eth0"])
        let failure = HostNetworkError(operation: "add address 10.0.0.100/32 to eth0", errno: 1)
        table.failEveryCall(with: failure)
        #expect(throws: failure) { try table.add(Self.v4) }
        #expect(throws: failure) { try table.holds(Self.v4) }
        table.failEveryCall(with: nil)
        #expect(try table.add(Self.v4))
    }
}
