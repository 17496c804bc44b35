import SyncWire

/// One of the kernel's connection-sync daemons (`ipvsadm --start-daemon`): a master sends the table's changes, a
/// backup receives them. Both can run at once, one of each.
public struct SyncDaemon: Hashable, Sendable {
    /// The role (`IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP`).
    public enum Role: UInt32, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case master = 1
        case backup = 2

        public var description: String { self == .master ? "master" : "backup" }
    }

    /// Master or backup.
    public var role: Role
    /// The interface it sends or listens on.
    public var interface: String
    /// The sync ID (0 to 255; a backup with 0 accepts every ID).
    public var syncID: UInt8
    /// The largest sync message (UDP payload); nil: the kernel's default from the MTU.
    public var maximumLength: UInt16?
    /// The multicast group; nil: 224.0.0.81.
    public var group: IPAddress?
    /// The base UDP port; nil: 8848.
    public var port: UInt16?
    /// The multicast TTL; nil: 1.
    public var ttl: UInt8?

    /// Creates a daemon description; nil settings take the kernel's defaults.
    public init(
        role: Role,
        interface: String,
        syncID: UInt8,
        maximumLength: UInt16? = nil,
        group: IPAddress? = nil,
        port: UInt16? = nil,
        ttl: UInt8? = nil
    ) {
        self.role = role
        self.interface = interface
        self.syncID = syncID
        self.maximumLength = maximumLength
        self.group = group
        self.port = port
        self.ttl = ttl
    }
}
