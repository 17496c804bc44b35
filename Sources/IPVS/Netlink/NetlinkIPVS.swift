import CNetlink
import SyncWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's IPVS over generic netlink (libnl-genl-3), in this network namespace or a named one.
///
/// One netlink socket, used by one request at a time. Kernel errors are read from the kernel's own `nlmsgerr`
/// (libnl folds `ESRCH` and `ENOENT` together) and mapped to ``IPVSError``.
public final class NetlinkIPVS: IPVSControl {
    private let connection: Mutex<Connection>

    /// Connects to the IPVS family.
    /// - Parameter namespace: a network namespace name (`ip netns`, `/var/run/netns/NAME`); nil for this one.
    /// - Throws: ``IPVSError`` with ``IPVSError/Kind/noIPVS`` when the kernel has no IPVS.
    public init(namespace: String? = nil) throws(IPVSError) {
        connection = Mutex(try Connection(namespace: namespace))
    }

    // MARK: - IPVSControl

    public func info() throws(IPVSError) -> IPVSInfo {
        var info: IPVSInfo?
        try request(
            .info,
            Int32(IPVS_CMD_GET_INFO),
            reply: { t in
                info = IPVSInfo(
                    versionCode: IPVSAttributes.u32(t, Int(IPVS_INFO_ATTR_VERSION)) ?? 0,
                    connectionTableSize: IPVSAttributes.u32(t, Int(IPVS_INFO_ATTR_CONN_TAB_SIZE)) ?? 0
                )
            }
        )
        guard let info else { throw IPVSAttributes.malformed("info") }
        return info
    }

    public func timeouts() throws(IPVSError) -> IPVSTimeouts {
        var timeouts: IPVSTimeouts?
        try request(
            .getTimeouts,
            Int32(IPVS_CMD_GET_CONFIG),
            reply: { t in
                timeouts = IPVSTimeouts(
                    tcp: IPVSAttributes.u32(t, Int(IPVS_CMD_ATTR_TIMEOUT_TCP)) ?? 0,
                    tcpFin: IPVSAttributes.u32(t, Int(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)) ?? 0,
                    udp: IPVSAttributes.u32(t, Int(IPVS_CMD_ATTR_TIMEOUT_UDP)) ?? 0
                )
            }
        )
        guard let timeouts else { throw IPVSAttributes.malformed("timeouts") }
        return timeouts
    }

    public func setTimeouts(_ timeouts: IPVSTimeouts) throws(IPVSError) {
        try request(
            .setTimeouts,
            Int32(IPVS_CMD_SET_CONFIG),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putTimeouts(msg, timeouts)
            }
        )
    }

    public func services() throws(IPVSError) -> [ServiceStatus] {
        try dump(.listServices, Int32(IPVS_CMD_GET_SERVICE), nest: IPVS_CMD_ATTR_SERVICE, what: "service") {
            (nest) throws(IPVSError) in try IPVSAttributes.service(nest)
        }
    }

    public func addService(_ service: VirtualService) throws(IPVSError) {
        try request(
            .addService(service),
            Int32(IPVS_CMD_NEW_SERVICE),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: service.key, settings: service)
            }
        )
    }

    public func editService(_ service: VirtualService) throws(IPVSError) {
        try request(
            .editService(service),
            Int32(IPVS_CMD_SET_SERVICE),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: service.key, settings: service)
            }
        )
    }

    public func deleteService(_ key: ServiceKey) throws(IPVSError) {
        try request(
            .deleteService(key),
            Int32(IPVS_CMD_DEL_SERVICE),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
            }
        )
    }

    public func realServers(of key: ServiceKey) throws(IPVSError) -> [RealServerStatus] {
        // The kernel answers a dump for a missing service with nothing and no error: ask for the service first.
        try request(
            .getService(key),
            Int32(IPVS_CMD_GET_SERVICE),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
            }
        )
        return try dump(
            .listRealServers(key),
            Int32(IPVS_CMD_GET_DEST),
            nest: IPVS_CMD_ATTR_DEST,
            what: "real server",
            build: { msg throws(IPVSError) in try IPVSAttributes.putService(msg, key: key, settings: nil) }
        ) { (nest) throws(IPVSError) in try IPVSAttributes.realServer(nest, serviceFamily: key.family) }
    }

    public func addRealServer(_ server: RealServer, to key: ServiceKey) throws(IPVSError) {
        try request(
            .addRealServer(server.endpoint, key),
            Int32(IPVS_CMD_NEW_DEST),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
                try IPVSAttributes.putRealServer(msg, endpoint: server.endpoint, settings: server)
            }
        )
    }

    public func editRealServer(_ server: RealServer, in key: ServiceKey) throws(IPVSError) {
        try request(
            .editRealServer(server.endpoint, key),
            Int32(IPVS_CMD_SET_DEST),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
                try IPVSAttributes.putRealServer(msg, endpoint: server.endpoint, settings: server)
            }
        )
    }

    public func deleteRealServer(_ endpoint: Endpoint, from key: ServiceKey) throws(IPVSError) {
        try request(
            .deleteRealServer(endpoint, key),
            Int32(IPVS_CMD_DEL_DEST),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
                try IPVSAttributes.putRealServer(msg, endpoint: endpoint, settings: nil)
            }
        )
    }

    public func syncDaemons() throws(IPVSError) -> [SyncDaemon] {
        try dump(.listDaemons, Int32(IPVS_CMD_GET_DAEMON), nest: IPVS_CMD_ATTR_DAEMON, what: "sync daemon") {
            (nest) throws(IPVSError) in try IPVSAttributes.daemon(nest)
        }
    }

    public func startSyncDaemon(_ daemon: SyncDaemon) throws(IPVSError) {
        try request(
            .startDaemon(daemon),
            Int32(IPVS_CMD_NEW_DAEMON),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putDaemon(msg, daemon, full: true)
            }
        )
    }

    public func stopSyncDaemon(_ role: SyncDaemon.Role) throws(IPVSError) {
        try request(
            .stopDaemon(role),
            Int32(IPVS_CMD_DEL_DAEMON),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putDaemon(msg, SyncDaemon(role: role, interface: "", syncID: 0), full: false)
            }
        )
    }

    public func zeroCounters(_ key: ServiceKey?) throws(IPVSError) {
        try request(
            .zero(key),
            Int32(IPVS_CMD_ZERO),
            build: { msg throws(IPVSError) in
                if let key { try IPVSAttributes.putService(msg, key: key, settings: nil) }
            }
        )
    }

    public func flush() throws(IPVSError) {
        try request(.flush, Int32(IPVS_CMD_FLUSH))
    }

    // MARK: - Requests

    /// A dump: one reply message per object, each with the object in the nested attribute `nest`.
    private func dump<T>(
        _ operation: IPVSOperation,
        _ command: Int32,
        nest: Int,
        what: String,
        build: (OpaquePointer) throws(IPVSError) -> Void = { _ in },
        decode: (IPVSAttributes.Attribute) throws(IPVSError) -> T
    ) throws(IPVSError) -> [T] {
        var objects: [T] = []
        try request(operation, command, dump: true, build: build) { t throws(IPVSError) in
            guard nest < t.count, let attribute = t[nest] else { throw IPVSAttributes.malformed(what) }
            objects.append(try decode(attribute))
        }
        return objects
    }

    private func request(
        _ operation: IPVSOperation,
        _ command: Int32,
        dump: Bool = false,
        build: (OpaquePointer) throws(IPVSError) -> Void = { _ in },
        reply: ([IPVSAttributes.Attribute?]) throws(IPVSError) -> Void = { _ in }
    ) throws(IPVSError) {
        try connection.withLock { (connection: inout Connection) throws(IPVSError) in
            try connection.transact(operation, command: command, dump: dump, build: build, reply: reply)
        }
    }
}
