/// The two formats of the kernel's sync messages (`net.ipv4.vs.sync_version`).
public enum SyncProtocolVersion: UInt8, Hashable, Sendable, CaseIterable {
    /// The old format: 4-byte header, IPv4 only, no timeout, fwmark or persistence data.
    case v0 = 0
    /// The current format: 8-byte header, IPv4 and IPv6 entries with options (the kernel's default).
    case v1 = 1
}

/// One sync message: the UDP payload the kernel's master sync thread sends.
public struct SyncMessage: Hashable, Sendable {
    /// The wire format.
    public var version: SyncProtocolVersion
    /// The sync ID (8 bits on the wire); a backup with a non-zero sync ID drops messages with another.
    public var syncID: UInt8
    /// The entries, in wire order.
    public var connections: [SyncConnection]

    /// Creates a message.
    public init(version: SyncProtocolVersion, syncID: UInt8, connections: [SyncConnection]) {
        self.version = version
        self.syncID = syncID
        self.connections = connections
    }
}

/// Fixed sizes of the kernel's sync structures.
public enum SyncWireLayout {
    /// `sizeof(struct ip_vs_sync_mesg)`: the version 1 header.
    public static let v1HeaderLength = 8
    /// `sizeof(struct ip_vs_sync_mesg_v0)`: the version 0 header, also the shortest message the kernel reads.
    public static let v0HeaderLength = 4
    /// `sizeof(struct ip_vs_sync_v4)`.
    public static let v1IPv4EntryLength = 36
    /// `sizeof(struct ip_vs_sync_v6)`.
    public static let v1IPv6EntryLength = 72
    /// `SIMPLE_CONN_SIZE`: a version 0 entry without sequence options.
    public static let v0EntryLength = 24
    /// `FULL_CONN_SIZE`: a version 0 entry with sequence options.
    public static let v0EntryWithSequenceLength = 48
    /// `sizeof(struct ip_vs_sync_conn_options)`: the SEQ_DATA payload.
    public static let sequenceOptionsLength = 24
    /// The largest entry size the 12-bit `ver_size` field can hold.
    public static let maximumEntryLength = 0x0fff
    /// The master's default `sync_maxlen` for IPv4 multicast (MTU 1500 − 20 − 8).
    public static let defaultMaximumMessageLength = 1472

    /// Option types (`IPVS_OPT_*`).
    public static let optionSequenceData: UInt8 = 1
    /// `IPVS_OPT_PE_DATA`.
    public static let optionPersistenceData: UInt8 = 2
    /// `IPVS_OPT_PE_NAME`.
    public static let optionPersistenceName: UInt8 = 3
    /// `IPVS_OPT_F_PARAM`: marks an option the receiver may ignore if it does not know it.
    public static let optionalOptionBit: UInt8 = 0x40
}
