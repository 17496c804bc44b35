import Config
import Synchronization

/// Takes and releases the VIPs and announces them: the host's addresses as the active director changes them.
/// ``InMemoryVirtualAddresses`` stands in for tests; the real one speaks rtnetlink.
public protocol VirtualAddressPort: Sendable {
    /// Adds the address to its interface; false if it was there already.
    func take(_ vip: FailoverConfig.VIP) throws -> Bool
    /// Removes the address from its interface; false if it was not there.
    func release(_ vip: FailoverConfig.VIP) throws -> Bool
    /// One round of announcements (gratuitous ARP for IPv4, unsolicited neighbour advertisements for IPv6).
    func announce(_ vips: [FailoverConfig.VIP]) throws
}

/// The VIPs in memory: what a test director "holds" and how often it announced them.
public final class InMemoryVirtualAddresses: VirtualAddressPort {
    private let state = Mutex<(held: Set<FailoverConfig.VIP>, announcements: Int)>(([], 0))

    /// Holds nothing.
    public init() {}

    public func take(_ vip: FailoverConfig.VIP) throws -> Bool { state.withLock { $0.held.insert(vip).inserted } }

    public func release(_ vip: FailoverConfig.VIP) throws -> Bool {
        state.withLock { $0.held.remove(vip) != nil }
    }

    public func announce(_ vips: [FailoverConfig.VIP]) throws { state.withLock { $0.announcements += 1 } }

    /// The addresses held now.
    public var held: Set<FailoverConfig.VIP> { state.withLock { $0.held } }

    /// Rounds of announcements so far.
    public var announcements: Int { state.withLock { $0.announcements } }
}
