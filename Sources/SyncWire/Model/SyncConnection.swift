/// One connection entry of the kernel's IPVS sync protocol: a connection or a persistence template.
///
/// The fields mirror `struct ip_vs_sync_v4` / `ip_vs_sync_v6` (version 1) and `struct ip_vs_sync_conn_v0`
/// (version 0). Fields version 0 cannot carry are nil in entries decoded from it.
///
/// The storage is laid out for the relay's hot path: addresses as 16-byte numbers, ports and wire fields inline,
/// and the data few entries have (sequence adjustments, persistence data, unknown options) behind one shared,
/// immutable reference, so that copying an entry copies 80 bytes and touches no reference count in the common case.
public struct SyncConnection: Sendable {
    /// The IP protocol; ``IPProtocol/ip`` (0) for firewall-mark templates.
    public var ipProtocol: IPProtocol
    /// The connection flags, forwarding method included; `IP_VS_CONN_F_HASHED` is never set on the wire.
    public var flags: ConnectionFlags
    /// The protocol state (TCP `ESTABLISHED`, template `ASSURED`, …).
    public var state: ConnectionState

    @usableFromInline var clientPort: UInt16
    @usableFromInline var virtualPort: UInt16
    @usableFromInline var destinationPort: UInt16
    /// ``Presence`` bits: which addresses are IPv6, which optional fields are set.
    @usableFromInline var presence: UInt8
    @usableFromInline var timeoutValue: UInt32
    @usableFromInline var fwmarkValue: UInt32
    @usableFromInline var clientAddress: IPv6Address
    @usableFromInline var virtualAddress: IPv6Address
    @usableFromInline var destinationAddress: IPv6Address
    @usableFromInline var extras: SyncConnectionExtras?

    @usableFromInline
    enum Presence {
        static let clientIPv6: UInt8 = 1
        static let virtualIPv6: UInt8 = 2
        static let destinationIPv6: UInt8 = 4
        static let allIPv6: UInt8 = 7
        static let timeout: UInt8 = 8
        static let fwmark: UInt8 = 16
    }

    /// Creates an entry. All three endpoints must have the same address family to be encodable.
    public init(
        ipProtocol: IPProtocol,
        client: Endpoint,
        virtual: Endpoint,
        destination: Endpoint,
        flags: ConnectionFlags,
        state: ConnectionState,
        timeout: UInt32? = nil,
        fwmark: UInt32? = nil,
        sequence: SequenceOptions? = nil,
        persistence: PersistenceData? = nil,
        unknownOptions: [UnknownSyncOption] = []
    ) {
        self.ipProtocol = ipProtocol
        self.flags = flags
        self.state = state
        clientPort = client.port
        virtualPort = virtual.port
        destinationPort = destination.port
        presence = 0
        timeoutValue = 0
        fwmarkValue = 0
        clientAddress = IPv6Address(high: 0, low: 0)
        virtualAddress = clientAddress
        destinationAddress = clientAddress
        extras = SyncConnectionExtras(sequence: sequence, persistence: persistence, unknownOptions: unknownOptions)
        self.client = client
        self.virtual = virtual
        self.destination = destination
        self.timeout = timeout
        self.fwmark = fwmark
    }

    /// Creates an entry from the fixed part of a wire entry and its options.
    /// - Parameter version: the format it came from; version 0 entries have no timeout and fwmark (nil).
    public init(
        _ entry: SyncEntry,
        version: SyncProtocolVersion,
        sequence: SequenceOptions? = nil,
        persistence: PersistenceData? = nil,
        unknownOptions: [UnknownSyncOption] = []
    ) {
        self.init(
            entry,
            version: version,
            extras: SyncConnectionExtras(sequence: sequence, persistence: persistence, unknownOptions: unknownOptions)
        )
    }

    @inline(__always)
    init(_ e: SyncEntry, version: SyncProtocolVersion, extras: SyncConnectionExtras?) {
        ipProtocol = e.ipProtocol
        flags = e.flags
        state = e.state
        clientPort = e.clientPort
        virtualPort = e.virtualPort
        destinationPort = e.destinationPort
        var presence = e.isIPv6 ? Presence.allIPv6 : 0
        if version == .v1 { presence |= Presence.timeout | Presence.fwmark }
        self.presence = presence
        timeoutValue = e.timeout
        fwmarkValue = e.fwmark
        clientAddress = e.clientAddress
        virtualAddress = e.virtualAddress
        destinationAddress = e.destinationAddress
        self.extras = extras
    }

    /// The fixed part as the wire holds it; nil when the addresses are not of one family (not encodable).
    public var entry: SyncEntry? {
        guard hasOneAddressFamily else { return nil }
        return SyncEntry(
            ipProtocol: ipProtocol,
            isIPv6: presence & Presence.clientIPv6 != 0,
            clientAddress: clientAddress,
            clientPort: clientPort,
            virtualAddress: virtualAddress,
            virtualPort: virtualPort,
            destinationAddress: destinationAddress,
            destinationPort: destinationPort,
            flags: flags,
            state: state,
            timeout: timeoutValue,
            fwmark: fwmarkValue
        )
    }

    /// The client's address and port (port 0 in templates).
    public var client: Endpoint {
        get { Endpoint(address(clientAddress, Presence.clientIPv6), clientPort) }
        set { (clientAddress, clientPort) = store(newValue, Presence.clientIPv6) }
    }

    /// The virtual service's address and port. For a firewall-mark template the kernel puts the mark, big-endian,
    /// in the address field, so an IPv4 one reads `0.0.0.7:0`.
    public var virtual: Endpoint {
        get { Endpoint(address(virtualAddress, Presence.virtualIPv6), virtualPort) }
        set { (virtualAddress, virtualPort) = store(newValue, Presence.virtualIPv6) }
    }

    /// The real server's address and port.
    public var destination: Endpoint {
        get { Endpoint(address(destinationAddress, Presence.destinationIPv6), destinationPort) }
        set { (destinationAddress, destinationPort) = store(newValue, Presence.destinationIPv6) }
    }

    /// The full timeout in seconds (not the time remaining); nil when decoded from version 0, which has none.
    /// Version 1 encodes nil as 0, which makes the backup use its protocol's default timeout.
    public var timeout: UInt32? {
        get { presence & Presence.timeout != 0 ? timeoutValue : nil }
        set {
            timeoutValue = newValue ?? 0
            presence = newValue == nil ? presence & ~Presence.timeout : presence | Presence.timeout
        }
    }

    /// The firewall mark; nil when decoded from version 0. Version 1 encodes nil as 0.
    public var fwmark: UInt32? {
        get { presence & Presence.fwmark != 0 ? fwmarkValue : nil }
        set {
            fwmarkValue = newValue ?? 0
            presence = newValue == nil ? presence & ~Presence.fwmark : presence | Presence.fwmark
        }
    }

    /// TCP sequence adjustments (version 1 option SEQ_DATA, or the version 0 options block).
    public var sequence: SequenceOptions? {
        get { extras?.sequence }
        set {
            extras = SyncConnectionExtras(sequence: newValue, persistence: persistence, unknownOptions: unknownOptions)
        }
    }

    /// Persistence-engine data (version 1 options PE_DATA and PE_NAME); only templates carry it.
    public var persistence: PersistenceData? {
        get { extras?.persistence }
        set { extras = SyncConnectionExtras(sequence: sequence, persistence: newValue, unknownOptions: unknownOptions) }
    }

    /// Optional options this codec does not interpret, kept for byte-exact re-encoding (normally empty).
    public var unknownOptions: [UnknownSyncOption] {
        get { extras?.unknownOptions ?? [] }
        set { extras = SyncConnectionExtras(sequence: sequence, persistence: persistence, unknownOptions: newValue) }
    }

    /// The entry's address family (that of the client address; an encodable entry has one family).
    public var family: AddressFamily { presence & Presence.clientIPv6 != 0 ? .inet6 : .inet }

    /// Whether the three addresses are of one family, as the wire format requires.
    public var hasOneAddressFamily: Bool {
        let bits = presence & Presence.allIPv6
        return bits == 0 || bits == Presence.allIPv6
    }

    /// Whether this is a persistence template (`IP_VS_CONN_F_TEMPLATE`).
    public var isTemplate: Bool { flags.contains(.template) }

    /// Whether the entry carries options (sequence data, persistence data or unknown options).
    public var hasOptions: Bool { extras != nil }

    /// The forwarding method from the flags.
    public var forwardingMethod: ForwardingMethod { flags.forwardingMethod }

    /// The state's name as `/proc/net/ip_vs_conn` prints it.
    public var stateName: String { state.name(protocol: ipProtocol, template: isTemplate) }

    @inline(__always)
    private func address(_ value: IPv6Address, _ bit: UInt8) -> IPAddress {
        presence & bit != 0 ? .v6(value) : .v4(IPv4Address(UInt32(truncatingIfNeeded: value.low)))
    }

    @inline(__always)
    private mutating func store(_ endpoint: Endpoint, _ bit: UInt8) -> (IPv6Address, UInt16) {
        switch endpoint.address {
        case .v4(let a):
            presence &= ~bit
            return (IPv6Address(high: 0, low: UInt64(a.value)), endpoint.port)
        case .v6(let a):
            presence |= bit
            return (a, endpoint.port)
        }
    }
}

extension SyncConnection: Hashable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.ipProtocol == rhs.ipProtocol && lhs.flags == rhs.flags && lhs.state == rhs.state
            && lhs.clientPort == rhs.clientPort && lhs.virtualPort == rhs.virtualPort
            && lhs.destinationPort == rhs.destinationPort && lhs.presence == rhs.presence
            && lhs.timeoutValue == rhs.timeoutValue && lhs.fwmarkValue == rhs.fwmarkValue
            && lhs.clientAddress == rhs.clientAddress && lhs.virtualAddress == rhs.virtualAddress
            && lhs.destinationAddress == rhs.destinationAddress && lhs.sequence == rhs.sequence
            && lhs.persistence == rhs.persistence && lhs.unknownOptions == rhs.unknownOptions
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ipProtocol)
        hasher.combine(flags)
        hasher.combine(state)
        hasher.combine(clientPort)
        hasher.combine(virtualPort)
        hasher.combine(destinationPort)
        hasher.combine(presence)
        hasher.combine(timeoutValue)
        hasher.combine(fwmarkValue)
        hasher.combine(clientAddress)
        hasher.combine(virtualAddress)
        hasher.combine(destinationAddress)
        hasher.combine(sequence)
        hasher.combine(persistence)
        hasher.combine(unknownOptions)
    }
}

extension SyncConnection: CustomStringConvertible {
    public var description: String {
        var text = "\(ipProtocol) \(client) -> \(virtual) -> \(destination) \(stateName) flags 0x"
        text += String(flags.rawValue, radix: 16)
        if let timeout { text += " timeout \(timeout)" }
        if let fwmark, fwmark != 0 { text += " fwmark \(fwmark)" }
        if let persistence {
            text += " pe \(persistence.engine) \(persistence.dataText ?? HexMessages.hex(persistence.data))"
        }
        return text
    }
}

/// The data few entries have, shared immutably between copies of an entry.
@usableFromInline
final class SyncConnectionExtras: Sendable {
    let sequence: SequenceOptions?
    let persistence: PersistenceData?
    let unknownOptions: [UnknownSyncOption]

    /// Returns nil when there is nothing to hold, so that plain entries carry no reference.
    init?(sequence: SequenceOptions?, persistence: PersistenceData?, unknownOptions: [UnknownSyncOption]) {
        guard sequence != nil || persistence != nil || !unknownOptions.isEmpty else { return nil }
        self.sequence = sequence
        self.persistence = persistence
        self.unknownOptions = unknownOptions
    }
}
