import Foundation
import HostNetwork
import IPVS
import Mirror
import SyncWire

/// Seeds the active director's mirror table from `/proc/net/ip_vs_conn`, for connections the kernel made before
/// lvsync started. The forwarding method of each connection comes from the kernel's IPVS table (its real server);
/// timeouts are approximated (``ProcBootstrap`` documents how).
public enum KernelBootstrap {
    /// What seeding found.
    public struct Outcome: Sendable {
        /// Connections put into the table.
        public var seeded: Int
        /// Lines that could not become sync entries.
        public var unusable: Int
        /// Lines that did not parse.
        public var problems: Int
    }

    /// Reads `path` and seeds `table`; `ownOnly`: only with the connections the kernel's own traffic made (a cluster
    /// member's, ``ownConnections(of:syncTable:)``).
    public static func seed(
        _ table: inout MirrorTable,
        from path: String = "/proc/net/ip_vs_conn",
        ipvs: any IPVSControl,
        now: MirrorTime,
        ownOnly: Bool = false
    ) throws -> Outcome {
        let text = try readWhole(path)
        var proc = ProcConnTable(parsing: text)
        if ownOnly { proc = ownConnections(of: proc, syncTable: try readWhole(syncTablePath(path))) }
        let lookup = try forwardingLookup(ipvs)
        let before = table.count
        let unusable = table.seed(from: proc, forwarding: lookup, now: now)
        return Outcome(seeded: table.count - before, unusable: unusable.count, problems: proc.problems.count)
    }

    /// The kernel's connections now, as sync entries (the drill re-sends them before a handover); empty when the
    /// table cannot be read.
    public static func connections(
        from path: String = "/proc/net/ip_vs_conn",
        ipvs: any IPVSControl
    ) -> [SyncConnection] {
        readConnections(from: path, ipvs: ipvs) ?? []
    }

    /// The kernel's connections now, as sync entries; nil when the table cannot be read. `ownOnly`: only those its
    /// own traffic made (``ownConnections(of:syncTable:)``).
    public static func readConnections(
        from path: String = "/proc/net/ip_vs_conn",
        ipvs: any IPVSControl,
        ownOnly: Bool = false
    ) -> [SyncConnection]? {
        guard let text = try? readWhole(path), let lookup = try? forwardingLookup(ipvs) else { return nil }
        var table = ProcConnTable(parsing: text)
        if ownOnly {
            guard let origins = try? readWhole(syncTablePath(path)) else { return nil }
            table = ownConnections(of: table, syncTable: origins)
        }
        return ProcBootstrap.connections(from: table, forwarding: lookup).connections
    }

    /// The entries of `table` (`/proc/net/ip_vs_conn`, read first) that `syncTable` (`/proc/net/ip_vs_conn_sync`,
    /// read after it) lists with origin `LOCAL`: made by this kernel's own traffic, not taken by its backup daemon
    /// from a master (`IP_VS_CONN_F_SYNC`). An entry gone by the second read is left out (it is gone from the kernel
    /// too). A cluster member streams only these: the others' entries are theirs to stream.
    public static func ownConnections(of table: ProcConnTable, syncTable: String) -> ProcConnTable {
        struct Tuple: Hashable {
            var ipProtocol: IPProtocol
            var client: Endpoint
            var virtual: Endpoint
        }
        var local = Set<Tuple>()
        for line in ProcConnTable(parsing: syncTable).entries where line.origin == .local {
            local.insert(Tuple(ipProtocol: line.ipProtocol, client: line.client, virtual: line.virtual))
        }
        var own = table
        own.entries = table.entries.filter {
            local.contains(Tuple(ipProtocol: $0.ipProtocol, client: $0.client, virtual: $0.virtual))
        }
        return own
    }

    /// `/proc/net/ip_vs_conn_sync` beside `/proc/net/ip_vs_conn` (the same table with each entry's origin).
    static func syncTablePath(_ path: String) -> String { path + "_sync" }

    /// The kernel's table as text, nil when it cannot be read.
    public static func readTable(_ path: String = "/proc/net/ip_vs_conn") -> String? {
        try? readWhole(path)
    }

    /// The whole file, in large reads (``ProcFile``). Not `String(contentsOfFile:)`: a `/proc` file reports size
    /// 0, and Foundation then stops after the first read, one page of the table (about 40 connections).
    static func readWhole(_ path: String) throws -> String {
        guard let text = ProcFile.text(path) else {
            throw DaemonError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        return text
    }

    /// The forwarding method of each (protocol, virtual, real server) the kernel knows, falling back to the real
    /// server alone (firewall-mark services, whose connections show the packet's own virtual address).
    static func forwardingLookup(_ ipvs: any IPVSControl) throws(IPVSError) -> ProcBootstrap.ForwardingLookup {
        var exact: [String: ForwardingMethod] = [:]
        var byDestination: [Endpoint: ForwardingMethod] = [:]
        for status in try ipvs.services() {
            for server in try ipvs.realServers(of: status.service.key) {
                let forwarding = server.server.forwarding
                byDestination[server.server.endpoint] = forwarding
                if case .address(let ipProtocol, let virtual) = status.service.key {
                    exact["\(ipProtocol.rawValue) \(virtual) \(server.server.endpoint)"] = forwarding
                }
            }
        }
        return { ipProtocol, virtual, destination in
            exact["\(ipProtocol.rawValue) \(virtual) \(destination)"] ?? byDestination[destination]
        }
    }
}
