import Config
import HostNetwork

extension FailoverConfig.VIP {
    /// The VIP as an address on its interface, as the host's address table holds it.
    public var virtualAddress: VirtualAddress {
        VirtualAddress(interface: interface, address: address, prefixLength: UInt8(prefixLength))
    }

    /// The VIP as a `local` route in the kernel's `local` table: how an announcing cluster member holds it (an
    /// address would be a connected route, which the routing daemon would announce by itself).
    public var localRoute: AnnouncedRoute {
        .local(address, prefixLength: UInt8(prefixLength), interface: interface)
    }
}

extension FailoverConfig.VIP {
    /// Gives the VIP up on a host: its `local` route for a member that announces (`asLocalRoute`), otherwise its
    /// address. The one place that says how a held VIP is let go, for the director and for `lvsync release`.
    /// - Returns: true if the host held it.
    func release(
        addresses: any VirtualAddressControlling,
        routes: any RouteAnnouncing,
        asLocalRoute: Bool
    ) throws(HostNetworkError) -> Bool {
        asLocalRoute ? try routes.withdraw(localRoute) : try addresses.remove(virtualAddress)
    }
}

extension Director {
    /// Makes `vip` this host's: an address on its interface, or a `local` route for a member that announces
    /// (``Settings/announceTable``).
    /// - Returns: true if the host lacked it.
    func take(_ vip: FailoverConfig.VIP) throws(HostNetworkError) -> Bool {
        if settings.announceTable != nil { return try ports.routes.announce(vip.localRoute) }
        return try ports.addresses.add(vip.virtualAddress)
    }

    /// Gives `vip` up, as ``take(_:)`` took it.
    /// - Returns: true if the host held it.
    func give(_ vip: FailoverConfig.VIP) throws(HostNetworkError) -> Bool {
        try vip.release(addresses: ports.addresses, routes: ports.routes, asLocalRoute: settings.announceTable != nil)
    }
}
