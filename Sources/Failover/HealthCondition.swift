/// A check of this director's own fitness to be active, reported by the driver with
/// ``Election/healthChanged(_:ok:now:)``: a client-side interface, the sync interface, the IPVS family.
public struct HealthCondition: Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The condition's name, as the configuration and `lvsync status` spell it.
    public var name: String

    /// A condition with this name.
    public init(_ name: String) { self.name = name }

    public init(stringLiteral value: String) { self.init(value) }

    /// The named network interface (a VIP's or a real server's side) is up.
    public static func interface(_ name: String) -> HealthCondition { HealthCondition("interface:\(name)") }

    /// The dummy interface the kernel sync daemons run on exists.
    public static let syncInterface = HealthCondition("sync-interface")

    /// The kernel's IPVS generic-netlink family answers.
    public static let ipvs = HealthCondition("ipvs")

    public static func < (lhs: HealthCondition, rhs: HealthCondition) -> Bool { lhs.name < rhs.name }

    public var description: String { name }
}

/// What a failing health condition does to this director.
public enum HealthResponse: Hashable, Sendable, CustomStringConvertible {
    /// Subtracts this much (1 to 254) from the configured priority while the condition fails. Penalties add up; the
    /// effective priority never drops below 1. A penalty alone moves the VIPs only through preemption (see
    /// ``Election``): with preemption off, configure ``fault`` for conditions that must move them.
    case lowerPriority(by: Int)
    /// Steps down: the director enters ``ElectionState/fault`` and advertises priority 0 while the condition fails,
    /// and the peer takes over at once.
    case fault

    public var description: String {
        switch self {
        case .lowerPriority(let penalty): "lower priority by \(penalty)"
        case .fault: "step down (fault)"
        }
    }
}
