/// The kernel's own count of its connections, from its real servers' counters (`ipvsadm -Ln`'s ActiveConn and
/// InActConn, and the persistence templates bound to each server).
///
/// Read over generic netlink, one dump per virtual service: cheap at any table size, unlike
/// `/proc/net/ip_vs_conn`, whose every `read(2)` returns one page and walks the table from its first entry (a table
/// of n entries costs the kernel about n²/60 steps to print). A connection whose real server this kernel does not
/// have (synced for a service not configured here) is in the table but in no counter.
public struct ConnectionCount: Hashable, Sendable {
    /// Connections the kernel counts as active (TCP established).
    public var active: Int
    /// The other connections.
    public var inactive: Int
    /// Persistence templates.
    public var templates: Int

    /// Connections and templates: what the kernel's table holds on its real servers.
    public var total: Int { active + inactive + templates }

    /// A count.
    public init(active: Int = 0, inactive: Int = 0, templates: Int = 0) {
        self.active = active
        self.inactive = inactive
        self.templates = templates
    }
}

extension IPVSControl {
    /// The kernel's connections on its real servers, summed over every virtual service's real servers.
    /// - Throws: ``IPVSError`` when the kernel cannot be asked.
    public func connectionCount() throws(IPVSError) -> ConnectionCount {
        var count = ConnectionCount()
        for service in try services() {
            let servers: [RealServerStatus]
            do {
                servers = try realServers(of: service.service.key)
            } catch {
                // Deleted since the list was read: its connections went with it.
                if case .noSuchService = error.kind { continue }
                throw error
            }
            for server in servers {
                count.active += Int(server.activeConnections)
                count.inactive += Int(server.inactiveConnections)
                count.templates += Int(server.persistentConnections)
            }
        }
        return count
    }
}
