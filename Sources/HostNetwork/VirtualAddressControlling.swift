/// Adds, removes and looks up virtual addresses on this host's interfaces. Both operations are idempotent, so a
/// takeover or a release can be repeated safely. ``NetlinkAddresses`` is the kernel's; ``InMemoryAddresses`` is its
/// twin for tests.
///
/// An address is identified by interface, address and prefix length: ``holds(_:)`` is true only for that exact
/// prefix length. The kernel keeps one entry per IPv6 address and interface whatever its prefix, so adding an IPv6
/// address the interface carries with another prefix length fails.
public protocol VirtualAddressControlling: Sendable {
    /// Adds `address` to its interface (IPv6 without duplicate address detection: usable at once).
    /// - Returns: true if it was added, false if the interface already had it.
    /// - Throws: ``HostNetworkError`` naming the address, the interface and the reason (no such interface, not
    ///   permitted, the IPv6 address present with another prefix length).
    @discardableResult
    func add(_ address: VirtualAddress) throws(HostNetworkError) -> Bool

    /// Removes `address` from its interface.
    /// - Returns: true if it was removed, false if the interface did not have it.
    /// - Throws: ``HostNetworkError`` naming the address, the interface and the reason.
    @discardableResult
    func remove(_ address: VirtualAddress) throws(HostNetworkError) -> Bool

    /// Whether the interface carries `address` with its prefix length.
    /// - Throws: ``HostNetworkError`` naming the address and the interface (no such interface).
    func holds(_ address: VirtualAddress) throws(HostNetworkError) -> Bool
}
