import HostNetwork
import SyncWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A twin of ``NetlinkAddresses`` for tests: the same answers and the same errors (with the same messages), kept in
/// memory. Configured with a set of interfaces, it refuses any other one as the kernel does (`ENODEV`); without
/// one, every interface exists. Like the kernel, it keeps several IPv4 entries of one address with different
/// prefix lengths, but only one entry per IPv6 address and interface.
public final class InMemoryAddresses: VirtualAddressControlling {
    private struct State {
        var interfaces: Set<String>?
        var addresses: Set<VirtualAddress> = []
        var failure: HostNetworkError?
        var changes: [AddressChange] = []
    }

    /// One address added or removed, and when.
    public struct AddressChange: Sendable {
        /// When.
        public var at: ContinuousClock.Instant
        /// Added (true) or removed.
        public var added: Bool
        /// The address.
        public var address: VirtualAddress
    }

    /// Every change so far, oldest first.
    public var changes: [AddressChange] { state.withLock { $0.changes } }

    private let state: Mutex<State>

    /// Creates an empty table; `interfaces` are the interfaces that exist (nil: any name does).
    public init(interfaces: Set<String>? = nil, addresses: Set<VirtualAddress> = []) {
        state = Mutex(State(interfaces: interfaces, addresses: addresses))
    }

    /// Every address held, in no order.
    public var addresses: Set<VirtualAddress> { state.withLock { $0.addresses } }

    /// Makes `name` exist (when the table was configured with a set of interfaces).
    public func addInterface(_ name: String) {
        _ = state.withLock { $0.interfaces?.insert(name) }
    }

    /// Makes `name` vanish, with its addresses, as the kernel drops a deleted link's addresses.
    public func removeInterface(_ name: String) {
        state.withLock { state in
            state.interfaces?.remove(name)
            state.addresses = state.addresses.filter { $0.interface != name }
        }
    }

    /// Makes every later call throw `error` (nil: work again), for testing how a caller copes.
    public func failEveryCall(with error: HostNetworkError?) {
        state.withLock { $0.failure = error }
    }

    /// Adds the address; false when it was there (see ``VirtualAddressControlling/add(_:)``).
    @discardableResult
    public func add(_ address: VirtualAddress) throws(HostNetworkError) -> Bool {
        let what = "add address \(address.cidr) to \(address.interface)"
        return try state.withLock { state throws(HostNetworkError) -> Bool in
            try Self.check(address, what, state)
            if state.addresses.contains(address) { return false }
            if address.address.family == .inet6,
                state.addresses.contains(where: { $0.interface == address.interface && $0.address == address.address })
            {
                throw HostNetworkError(
                    operation: what,
                    errno: EEXIST,
                    detail: "\(address.interface) has \(address.address) with another prefix length"
                )
            }
            state.addresses.insert(address)
            state.changes.append(AddressChange(at: .now, added: true, address: address))
            return true
        }
    }

    /// Removes the address; false when it was not there (see ``VirtualAddressControlling/remove(_:)``).
    @discardableResult
    public func remove(_ address: VirtualAddress) throws(HostNetworkError) -> Bool {
        let what = "remove address \(address.cidr) from \(address.interface)"
        return try state.withLock { state throws(HostNetworkError) -> Bool in
            try Self.check(address, what, state)
            guard state.addresses.remove(address) != nil else { return false }
            state.changes.append(AddressChange(at: .now, added: false, address: address))
            return true
        }
    }

    /// Whether the table holds the address with its prefix length.
    public func holds(_ address: VirtualAddress) throws(HostNetworkError) -> Bool {
        let what = "look up address \(address.cidr) on \(address.interface)"
        return try state.withLock { state throws(HostNetworkError) -> Bool in
            try Self.check(address, what, state)
            return state.addresses.contains(address)
        }
    }

    /// The injected failure, or `ENODEV` for an interface that does not exist.
    private static func check(_ address: VirtualAddress, _ what: String, _ state: State) throws(HostNetworkError) {
        if let failure = state.failure { throw failure }
        if let interfaces = state.interfaces, !interfaces.contains(address.interface) {
            throw HostNetworkError(operation: what, errno: ENODEV, detail: "no interface \(address.interface)")
        }
    }
}
