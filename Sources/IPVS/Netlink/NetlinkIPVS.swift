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
    private let namespace: String?

    /// Connects to the IPVS family.
    /// - Parameter namespace: a network namespace name (`ip netns`, `/var/run/netns/NAME`); nil for this one.
    /// - Throws: ``IPVSError`` with ``IPVSError/Kind/noIPVS`` when the kernel has no IPVS.
    public init(namespace: String? = nil) throws(IPVSError) {
        connection = Mutex(try Connection(namespace: namespace))
        self.namespace = namespace
    }

    // MARK: - IPVSControl

    public func info() throws(IPVSError) -> IPVSInfo {
        var info: IPVSInfo?
        try request(
            .info,
            reply: { t in info = IPVSAttributes.info(t) }
        )
        guard let info else { throw IPVSAttributes.malformed("info") }
        return info
    }

    public func timeouts() throws(IPVSError) -> IPVSTimeouts {
        var timeouts: IPVSTimeouts?
        try request(
            .getTimeouts,
            reply: { t in timeouts = IPVSAttributes.timeouts(t) }
        )
        guard let timeouts else { throw IPVSAttributes.malformed("timeouts") }
        return timeouts
    }

    public func setTimeouts(_ timeouts: IPVSTimeouts) throws(IPVSError) {
        try request(
            .setTimeouts,
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putTimeouts(msg, timeouts)
            }
        )
    }

    public func services() throws(IPVSError) -> [ServiceStatus] {
        try dump(.listServices, nest: IPVS_CMD_ATTR_SERVICE, what: "service") {
            (nest) throws(IPVSError) in try IPVSAttributes.service(nest)
        }
    }

    public func addService(_ service: VirtualService) throws(IPVSError) {
        try request(
            .addService(service),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: service.key, settings: service)
            }
        )
    }

    public func editService(_ service: VirtualService) throws(IPVSError) {
        try request(
            .editService(service),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: service.key, settings: service)
            }
        )
    }

    public func deleteService(_ key: ServiceKey) throws(IPVSError) {
        try request(
            .deleteService(key),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
            }
        )
    }

    public func realServers(of key: ServiceKey) throws(IPVSError) -> [RealServerStatus] {
        // The kernel answers a dump for a missing service with nothing and no error: ask for the service first.
        try request(
            .getService(key),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
            }
        )
        return try dump(
            .listRealServers(key),
            nest: IPVS_CMD_ATTR_DEST,
            what: "real server",
            build: { msg throws(IPVSError) in try IPVSAttributes.putService(msg, key: key, settings: nil) }
        ) { (nest) throws(IPVSError) in try IPVSAttributes.realServer(nest, serviceFamily: key.family) }
    }

    public func addRealServer(_ server: RealServer, to key: ServiceKey) throws(IPVSError) {
        try request(
            .addRealServer(server.endpoint, key),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
                try IPVSAttributes.putRealServer(msg, endpoint: server.endpoint, settings: server)
            }
        )
    }

    public func editRealServer(_ server: RealServer, in key: ServiceKey) throws(IPVSError) {
        try request(
            .editRealServer(server.endpoint, key),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
                try IPVSAttributes.putRealServer(msg, endpoint: server.endpoint, settings: server)
            }
        )
    }

    public func deleteRealServer(_ endpoint: Endpoint, from key: ServiceKey) throws(IPVSError) {
        try request(
            .deleteRealServer(endpoint, key),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putService(msg, key: key, settings: nil)
                try IPVSAttributes.putRealServer(msg, endpoint: endpoint, settings: nil)
            }
        )
    }

    public func syncDaemons() throws(IPVSError) -> [SyncDaemon] {
        try dump(.listDaemons, nest: IPVS_CMD_ATTR_DAEMON, what: "sync daemon") {
            (nest) throws(IPVSError) in try IPVSAttributes.daemon(nest)
        }
    }

    public func startSyncDaemon(_ daemon: SyncDaemon) throws(IPVSError) {
        try request(
            .startDaemon(daemon),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putDaemon(msg, daemon, full: true)
            }
        )
    }

    public func stopSyncDaemon(_ role: SyncDaemon.Role) throws(IPVSError) {
        try request(
            .stopDaemon(role),
            build: { msg throws(IPVSError) in
                try IPVSAttributes.putDaemon(msg, SyncDaemon(role: role, interface: "", syncID: 0), full: false)
            }
        )
    }

    public func sysctl(_ name: IPVSSysctl) throws(IPVSError) -> Int {
        let operation = "read net.ipv4.vs.\(name)"
        var text = ""
        try Connection.inNamespace(namespace) { () throws(IPVSError) in
            text = try ProcSysFile.read(name.path, operation: operation)
        }
        guard let value = Int(text.split(whereSeparator: \.isWhitespace).first ?? "") else {
            throw IPVSError(.kernel("not a number: '\(text)'"), operation: operation)
        }
        return value
    }

    public func setSysctl(_ name: IPVSSysctl, to value: Int) throws(IPVSError) {
        try Connection.inNamespace(namespace) { () throws(IPVSError) in
            try ProcSysFile.write("\(value)\n", to: name.path, operation: "set net.ipv4.vs.\(name) to \(value)")
        }
    }

    public func zeroCounters(_ key: ServiceKey?) throws(IPVSError) {
        try request(
            .zero(key),
            build: { msg throws(IPVSError) in
                if let key { try IPVSAttributes.putService(msg, key: key, settings: nil) }
            }
        )
    }

    public func flush() throws(IPVSError) {
        try request(.flush)
    }

    // MARK: - Requests

    /// A dump: one reply message per object, each with the object in the nested attribute `nest`.
    private func dump<T>(
        _ operation: IPVSOperation,
        nest: Int,
        what: String,
        build: (OpaquePointer) throws(IPVSError) -> Void = { _ in },
        decode: (IPVSAttributes.Attribute) throws(IPVSError) -> T
    ) throws(IPVSError) -> [T] {
        var objects: [T] = []
        try request(operation, build: build) { t throws(IPVSError) in
            guard nest < t.count, let attribute = t[nest] else { throw IPVSAttributes.malformed(what) }
            objects.append(try decode(attribute))
        }
        return objects
    }

    private func request(
        _ operation: IPVSOperation,
        build: (OpaquePointer) throws(IPVSError) -> Void = { _ in },
        reply: ([IPVSAttributes.Attribute?]) throws(IPVSError) -> Void = { _ in }
    ) throws(IPVSError) {
        try connection.withLock { (connection: inout Connection) throws(IPVSError) in
            try connection.transact(operation, build: build, reply: reply)
        }
    }
}
