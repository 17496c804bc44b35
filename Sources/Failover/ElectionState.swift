/// Where a director is in the election. The raw value is the name `lvsync status` prints and adverts carry.
public enum ElectionState: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Started, and waiting (at most the boot wait) to hear a peer before claiming anything. Holds no VIPs.
    case initialising
    /// Another director is active, or will be; this one mirrors its table and holds no VIPs.
    case standby
    /// Holds the VIPs and is the kernel's sync master.
    case active
    /// A health condition configured as a step-down fails: holds no VIPs and claims nothing until it recovers.
    case fault
    /// Shut down on purpose; the last advert said so, so the peer takes over without waiting for the dead interval.
    case stopped

    public var description: String { rawValue }
}

/// The path a heartbeat came by.
public enum HeartbeatPath: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The mutually authenticated TLS peer link, which also carries the mirror stream.
    case link
    /// The optional second path: UDP datagrams on another interface, authenticated with an HMAC over a shared key.
    case udp

    public var description: String { rawValue }
}
