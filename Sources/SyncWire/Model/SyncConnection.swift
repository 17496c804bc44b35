/// One connection entry of the kernel's IPVS sync protocol: a connection or a persistence template.
///
/// The fields mirror `struct ip_vs_sync_v4` / `ip_vs_sync_v6` (version 1) and `struct ip_vs_sync_conn_v0`
/// (version 0). Fields version 0 cannot carry are nil in entries decoded from it.
public struct SyncConnection: Hashable, Sendable {
    /// The IP protocol; ``IPProtocol/ip`` (0) for firewall-mark templates.
    public var ipProtocol: IPProtocol
    /// The client's address and port (port 0 in templates).
    public var client: Endpoint
    /// The virtual service's address and port. For a firewall-mark template the kernel puts the mark, big-endian,
    /// in the address field, so an IPv4 one reads `0.0.0.7:0`.
    public var virtual: Endpoint
    /// The real server's address and port.
    public var destination: Endpoint
    /// The connection flags, forwarding method included; `IP_VS_CONN_F_HASHED` is never set on the wire.
    public var flags: ConnectionFlags
    /// The protocol state (TCP `ESTABLISHED`, template `ASSURED`, …).
    public var state: ConnectionState
    /// The full timeout in seconds (not the time remaining); nil when decoded from version 0, which has none.
    /// Version 1 encodes nil as 0, which makes the backup use its protocol's default timeout.
    public var timeout: UInt32?
    /// The firewall mark; nil when decoded from version 0. Version 1 encodes nil as 0.
    public var fwmark: UInt32?
    /// TCP sequence adjustments (version 1 option SEQ_DATA, or the version 0 options block).
    public var sequence: SequenceOptions?
    /// Persistence-engine data (version 1 options PE_DATA and PE_NAME); only templates carry it.
    public var persistence: PersistenceData?
    /// Optional options this codec does not interpret, kept for byte-exact re-encoding (normally empty).
    public var unknownOptions: [UnknownSyncOption]

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
        self.client = client
        self.virtual = virtual
        self.destination = destination
        self.flags = flags
        self.state = state
        self.timeout = timeout
        self.fwmark = fwmark
        self.sequence = sequence
        self.persistence = persistence
        self.unknownOptions = unknownOptions
    }

    /// The entry's address family (that of the client address; an encodable entry has one family).
    public var family: AddressFamily { client.address.family }

    /// Whether this is a persistence template (`IP_VS_CONN_F_TEMPLATE`).
    public var isTemplate: Bool { flags.contains(.template) }

    /// The forwarding method from the flags.
    public var forwardingMethod: ForwardingMethod { flags.forwardingMethod }

    /// The state's name as `/proc/net/ip_vs_conn` prints it.
    public var stateName: String { state.name(protocol: ipProtocol, template: isTemplate) }
}
