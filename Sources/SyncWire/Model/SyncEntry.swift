/// The fixed part of a sync entry, everything but its options, exactly as the wire holds it: one trivially
/// copyable value for the relay's hot path (capture, mirror, re-injection), where ``SyncConnection`` is the richer
/// value for everything else.
///
/// Addresses are 16-byte numbers; when ``isIPv6`` is false, each holds its IPv4 address in the low 32 bits. The
/// wire has one family per entry, so a `SyncEntry` cannot mix families. Version 0 entries have timeout and fwmark 0.
public struct SyncEntry: Hashable, Sendable, BitwiseCopyable {
    /// The client address (IPv4 in the low 32 bits of ``IPv6Address/low``).
    public var clientAddress: IPv6Address
    /// The virtual address, or a firewall-mark template's mark.
    public var virtualAddress: IPv6Address
    /// The real server's address.
    public var destinationAddress: IPv6Address
    /// The connection flags as sent.
    public var flags: ConnectionFlags
    /// The full timeout in seconds; 0 lets the backup use its protocol default (and is all version 0 has).
    public var timeout: UInt32
    /// The firewall mark (0 for none, and in version 0).
    public var fwmark: UInt32
    /// The client port (0 in templates).
    public var clientPort: UInt16
    /// The virtual service port.
    public var virtualPort: UInt16
    /// The real server port.
    public var destinationPort: UInt16
    /// The protocol state.
    public var state: ConnectionState
    /// The IP protocol.
    public var ipProtocol: IPProtocol
    /// Whether the addresses are IPv6.
    public var isIPv6: Bool

    /// Creates an entry from its wire fields.
    @inlinable
    public init(
        ipProtocol: IPProtocol,
        isIPv6: Bool,
        clientAddress: IPv6Address,
        clientPort: UInt16,
        virtualAddress: IPv6Address,
        virtualPort: UInt16,
        destinationAddress: IPv6Address,
        destinationPort: UInt16,
        flags: ConnectionFlags,
        state: ConnectionState,
        timeout: UInt32,
        fwmark: UInt32
    ) {
        self.ipProtocol = ipProtocol
        self.isIPv6 = isIPv6
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.virtualAddress = virtualAddress
        self.virtualPort = virtualPort
        self.destinationAddress = destinationAddress
        self.destinationPort = destinationPort
        self.flags = flags
        self.state = state
        self.timeout = timeout
        self.fwmark = fwmark
    }

    /// The client endpoint.
    public var client: Endpoint { Endpoint(address(clientAddress), clientPort) }
    /// The virtual endpoint.
    public var virtual: Endpoint { Endpoint(address(virtualAddress), virtualPort) }
    /// The real server endpoint.
    public var destination: Endpoint { Endpoint(address(destinationAddress), destinationPort) }
    /// Whether this is a persistence template.
    public var isTemplate: Bool { flags.contains(.template) }

    @inline(__always)
    func address(_ value: IPv6Address) -> IPAddress {
        isIPv6 ? .v6(value) : .v4(IPv4Address(UInt32(truncatingIfNeeded: value.low)))
    }
}
