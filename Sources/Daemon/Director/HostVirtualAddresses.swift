import Config
import HostNetwork

/// The host's VIPs: added and removed over rtnetlink, announced with gratuitous ARP and unsolicited neighbour
/// advertisements.
public struct HostVirtualAddresses: VirtualAddressPort {
    let addresses = NetlinkAddresses()
    let announcer = NeighbourAnnouncer()

    /// The host's, in this thread's network namespace.
    public init() {}

    public func take(_ vip: FailoverConfig.VIP) throws -> Bool { try addresses.add(Self.address(vip)) }

    public func release(_ vip: FailoverConfig.VIP) throws -> Bool { try addresses.remove(Self.address(vip)) }

    public func announce(_ vips: [FailoverConfig.VIP]) throws { _ = try announcer.announceOnce(vips.map(Self.address)) }

    /// Whether interface `name` exists, is up and has its carrier (a health condition).
    public static func interfaceIsUp(_ name: String) -> Bool {
        (try? InterfaceState.query(name: name).isRunning) ?? false
    }

    static func address(_ vip: FailoverConfig.VIP) -> VirtualAddress {
        VirtualAddress(interface: vip.interface, address: vip.address, prefixLength: UInt8(vip.prefixLength))
    }
}
