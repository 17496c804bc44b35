import SyncWire

/// A route by which a routing daemon announces a VIP: the VIP's host prefix through its interface, in a routing
/// table of its own that the daemon exports (FRR: `ip import-table N` and `redistribute table N`; BIRD: a kernel
/// protocol with `kernel table N; learn;`). Its presence says "send this VIP's traffic here"; its absence withdraws.
///
/// A route of kind ``Kind/local`` is the other half of an announcing member: the VIP made an address of this host by
/// a `local` route in the kernel's `local` table, not by an address on an interface. An interface address would also
/// be a *connected* route to the routing daemon, which it prefers to the announcement table's (FRR's zebra: distance
/// 0 against 15) and would announce, or keep announcing through a drain, by itself.
public struct AnnouncedRoute: Hashable, Sendable, CustomStringConvertible {
    /// What the route does.
    public enum Kind: Hashable, Sendable {
        /// A unicast host route through the VIP's interface in the announcement table (scope link): the routing
        /// daemon announces it.
        case announcement
        /// A `local` route (scope host) in the kernel's `local` table (255): the host takes the VIP's packets as its
        /// own, so IPVS sees them, without an interface address.
        case local
    }

    /// The kernel's `local` table.
    public static let localTable: UInt32 = 255

    /// The VIP.
    public var address: IPAddress
    /// Its prefix length (a host route: 32 or 128).
    public var prefixLength: UInt8
    /// The interface the VIP is on (the route's device).
    public var interface: String
    /// The routing table.
    public var table: UInt32
    /// What it does.
    public var kind: Kind

    /// Creates an announcement route; without `prefixLength`, a host route.
    public init(address: IPAddress, prefixLength: UInt8? = nil, interface: String, table: UInt32) {
        self.address = address
        self.prefixLength = prefixLength ?? address.bitLength
        self.interface = interface
        self.table = table
        self.kind = .announcement
    }

    /// The `local` route that makes `address` this host's own (``Kind/local``); without `prefixLength`, a host route.
    public static func local(_ address: IPAddress, prefixLength: UInt8? = nil, interface: String) -> AnnouncedRoute {
        var route = AnnouncedRoute(
            address: address,
            prefixLength: prefixLength,
            interface: interface,
            table: localTable
        )
        route.kind = .local
        return route
    }

    public var description: String {
        switch kind {
        case .announcement: "\(address)/\(prefixLength) dev \(interface) table \(table)"
        case .local: "local \(address)/\(prefixLength) dev \(interface) table local"
        }
    }
}

/// Puts and takes announced routes (``AnnouncedRoute``) in the kernel's routing tables. Both are idempotent.
/// ``NetlinkRoutes`` is the kernel's; the test-support library has an in-memory twin.
public protocol RouteAnnouncing: Sendable {
    /// Puts `route` in its table (replacing one for the same prefix there).
    /// - Returns: true if the table lacked it.
    /// - Throws: ``HostNetworkError`` naming the route and the reason (no such interface, not permitted).
    @discardableResult
    func announce(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool

    /// Takes `route` out of its table.
    /// - Returns: true if it was there.
    /// - Throws: ``HostNetworkError`` naming the route and the reason.
    @discardableResult
    func withdraw(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool

    /// Whether the table holds `route`.
    /// - Throws: ``HostNetworkError`` naming the route and the reason.
    func holds(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool
}

/// No routes: a host that announces nothing (the default of hosts that never run a cluster member with `announce`).
public struct NoRoutes: RouteAnnouncing {
    /// Creates it.
    public init() {}

    public func announce(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool {
        throw HostNetworkError(operation: "announce route \(route)", detail: "this host announces no routes")
    }

    public func withdraw(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool { false }

    public func holds(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool { false }
}
