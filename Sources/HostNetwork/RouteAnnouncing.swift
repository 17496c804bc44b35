import SyncWire

/// A route by which a routing daemon announces a VIP: the VIP's host prefix through its interface, in a routing
/// table of its own that the daemon exports (FRR: `ip import-table N` and `redistribute table N`; BIRD: a kernel
/// protocol with `kernel table N; learn;`). Its presence says "send this VIP's traffic here"; its absence withdraws.
public struct AnnouncedRoute: Hashable, Sendable, CustomStringConvertible {
    /// The VIP.
    public var address: IPAddress
    /// Its prefix length (a host route: 32 or 128).
    public var prefixLength: UInt8
    /// The interface the VIP is on (the route's device).
    public var interface: String
    /// The routing table.
    public var table: UInt32

    /// Creates a route; without `prefixLength`, a host route.
    public init(address: IPAddress, prefixLength: UInt8? = nil, interface: String, table: UInt32) {
        self.address = address
        self.prefixLength = prefixLength ?? address.bitLength
        self.interface = interface
        self.table = table
    }

    public var description: String { "\(address)/\(prefixLength) dev \(interface) table \(table)" }
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
