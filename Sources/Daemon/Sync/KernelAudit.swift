import Mirror
import SyncWire

/// A standby's kernel held against its mirror: which of the mirror's connections the kernel's own table
/// (`/proc/net/ip_vs_conn`, read back) lacks. "In sync" is then a fact about the kernel, not about what lvsync sent;
/// what is missing is sent again.
///
/// A connection is the same in both when its protocol, client, virtual address, template kind and a template's
/// persistence data are (the kernel's hash key; a firewall-mark template shows its mark as its virtual address in
/// both). Connections with less than
/// ``margin`` seconds left in the mirror are not held against the kernel: its timer may have fired a little sooner.
public struct KernelAudit: Sendable {
    /// The kernel's key of a connection.
    struct Key: Hashable {
        var ipProtocol: UInt8
        var template: Bool
        var client: Endpoint
        var virtual: Endpoint
        /// A template's persistence data (SIP: the Call-ID): several templates may share client and service.
        var persistence: [UInt8]?

        init(_ connection: SyncConnection) {
            ipProtocol = connection.ipProtocol.rawValue
            template = connection.isTemplate
            client = connection.client
            virtual = connection.virtual
            persistence = connection.isTemplate ? connection.persistence?.data : nil
        }

        init(_ line: ProcConnection) {
            ipProtocol = line.ipProtocol.rawValue
            template = line.isTemplate
            client = line.client
            virtual = line.virtual
            persistence = line.isTemplate ? line.persistence?.data : nil
        }
    }

    /// Seconds left under which a mirror entry is not looked for in the kernel.
    public static let margin: UInt32 = 10

    /// Entries in the kernel's table.
    public var kernelConnections: Int
    /// The mirror's connections looked for (alive, with at least ``margin`` seconds left).
    public var mirrorConnections: Int
    /// The mirror's connections the kernel lacks.
    public var missing: [SyncConnection]
    /// Lines of the kernel's table that did not parse.
    public var unreadableLines: Int

    /// Holds `mirror` (a copy of the table, walked at `now`) against the kernel's `table`.
    public static func compare(mirror: MirrorTable, now: MirrorTime, kernel table: ProcConnTable) -> KernelAudit {
        var held = Set<Key>(minimumCapacity: table.entries.count)
        for line in table.entries { held.insert(Key(line)) }
        var looked = 0
        var missing: [SyncConnection] = []
        var position: Int? = 0
        while let start = position {
            position = mirror.forEachConnection(from: start, limit: 65_536, now: now) { connection, remaining in
                guard remaining >= margin else { return }
                looked += 1
                if !held.contains(Key(connection)) { missing.append(connection) }
            }
        }
        return KernelAudit(
            kernelConnections: table.entries.count,
            mirrorConnections: looked,
            missing: missing,
            unreadableLines: table.problems.count
        )
    }
}
