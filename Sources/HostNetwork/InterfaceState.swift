#if canImport(Glibc)
    import Glibc
#endif

/// What state an interface is in, for health conditions.
public enum InterfaceStatus: Hashable, Sendable, CustomStringConvertible {
    /// There is no interface by that name.
    case missing
    /// The interface exists but is administratively down (no `IFF_UP`).
    case down
    /// The interface is up but has no carrier (neither `IFF_RUNNING` nor `IFF_LOWER_UP`): a cable out, a veth
    /// whose peer is down.
    case noCarrier
    /// The interface is up and has a carrier: usable.
    case running

    /// Whether the interface exists.
    public var exists: Bool { self != .missing }
    /// Whether it is administratively up (`IFF_UP`).
    public var isUp: Bool { self == .noCarrier || self == .running }
    /// Whether it is up with a carrier.
    public var isRunning: Bool { self == .running }

    /// `missing`, `down`, `up no-carrier` or `up running`.
    public var description: String {
        switch self {
        case .missing: "missing"
        case .down: "down"
        case .noCarrier: "up no-carrier"
        case .running: "up running"
        }
    }
}

/// Reads interface states; ``InterfaceState`` is the kernel's.
public protocol InterfaceStatusReading: Sendable {
    /// The state of interface `name`; ``InterfaceStatus/missing`` when there is none.
    /// - Throws: ``HostNetworkError`` when the kernel cannot be asked, or `name` is not a valid interface name.
    func status(of name: String) throws(HostNetworkError) -> InterfaceStatus
}

/// The kernel's interface states, read over rtnetlink (the link's `ifi_flags`); needs no privilege.
public struct InterfaceState: InterfaceStatusReading {
    /// The `ip netns` name read in; nil for the calling thread's network namespace.
    public let namespace: String?

    /// Creates a reader for this network namespace, or for the named one.
    public init(namespace: String? = nil) {
        self.namespace = namespace
    }

    /// The state of interface `name` in this thread's network namespace; ``InterfaceStatus/missing`` when there is
    /// none (not an error).
    /// - Throws: ``HostNetworkError`` when the kernel cannot be asked, or `name` is not a valid interface name.
    public static func query(name: String) throws(HostNetworkError) -> InterfaceStatus {
        try InterfaceState().status(of: name)
    }

    /// The index of interface `name` in ``namespace``; nil when there is none. An interface deleted and created
    /// again under the same name has a new index: sockets and kernel daemons bound to the old one hear nothing.
    public func index(of name: String) throws(HostNetworkError) -> Int32? {
        let socket = try RouteSocket(namespace: namespace)
        return try LinkLookup.lookUp(name, on: socket)?.index
    }

    /// The state of interface `name` in ``namespace``; ``InterfaceStatus/missing`` when there is none.
    public func status(of name: String) throws(HostNetworkError) -> InterfaceStatus {
        let socket = try RouteSocket(namespace: namespace)
        guard let link = try LinkLookup.lookUp(name, on: socket) else { return .missing }
        guard link.flags & UInt32(IFF_UP) != 0 else { return .down }
        let carrier = UInt32(IFF_RUNNING) | LinkLookup.lowerUp
        return link.flags & carrier != 0 ? .running : .noCarrier
    }
}
