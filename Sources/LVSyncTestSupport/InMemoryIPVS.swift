import IPVS
import SyncWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An IPVS that lives in memory and refuses what the kernel refuses, with the kernel's errno: the twin of
/// ``NetlinkIPVS`` for testing everything above it without a kernel. The same behaviour tests run against both
/// (the kernel in the lab), so the two stay alike.
///
/// Differences from a kernel, on purpose: there is no traffic (counters stay zero unless set), and a sync
/// daemon's default maximum length is always 1472 (the kernel derives a backup's from the interface's MTU).
public final class InMemoryIPVS: IPVSControl {
    /// The schedulers a Debian kernel ships (`ip_vs_<name>` modules) plus `none`.
    public static let kernelSchedulers: Set<String> = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos", "none",
    ]

    private struct Service {
        var status: ServiceStatus
        var realServers: [RealServerStatus]
    }

    private struct State {
        var services: [Service] = []
        var daemons: [SyncDaemon] = []
        var daemonStarts = 0
        var timeouts = IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300)
        var sysctls: [IPVSSysctl: Int] = [:]
    }

    private let state = Mutex(State())
    /// The interfaces a sync daemon may be started on.
    public let interfaces: Set<String>
    /// The schedulers this "kernel" has.
    public let schedulers: Set<String>
    /// The persistence engines this "kernel" has.
    public let persistenceEngines: Set<String>

    /// Creates an empty table.
    public init(
        interfaces: Set<String> = ["lo", "lvsync0"],
        schedulers: Set<String> = InMemoryIPVS.kernelSchedulers,
        persistenceEngines: Set<String> = ["sip"]
    ) {
        self.interfaces = interfaces
        self.schedulers = schedulers
        self.persistenceEngines = persistenceEngines
    }

    public func info() throws(IPVSError) -> IPVSInfo { IPVSInfo(versionCode: 0x01_0201, connectionTableSize: 4096) }

    public func timeouts() throws(IPVSError) -> IPVSTimeouts { state.withLock { $0.timeouts } }

    public func setTimeouts(_ timeouts: IPVSTimeouts) throws(IPVSError) {
        let limit = UInt32(Int32.max) / 250
        guard timeouts.tcp <= limit, timeouts.tcpFin <= limit, timeouts.udp <= limit else {
            throw IPVSOperation.setTimeouts.error(errno: EINVAL)
        }
        state.withLock { state in
            if timeouts.tcp != 0 { state.timeouts.tcp = timeouts.tcp }
            if timeouts.tcpFin != 0 { state.timeouts.tcpFin = timeouts.tcpFin }
            if timeouts.udp != 0 { state.timeouts.udp = timeouts.udp }
        }
    }

    public func services() throws(IPVSError) -> [ServiceStatus] { state.withLock { $0.services.map(\.status) } }

    public func addService(_ service: VirtualService) throws(IPVSError) {
        let operation = IPVSOperation.addService(service)
        try check(service, operation)
        try state.withLock { (state: inout State) throws(IPVSError) in
            guard state.services.firstIndex(where: { $0.status.service.key == service.key }) == nil else {
                throw operation.error(errno: EEXIST)
            }
            state.services.append(Service(status: ServiceStatus(service: service), realServers: []))
        }
    }

    public func editService(_ service: VirtualService) throws(IPVSError) {
        let operation = IPVSOperation.editService(service)
        try state.withLock { (state: inout State) throws(IPVSError) in
            let index = try Self.index(of: service.key, in: state, operation)
            try check(service, operation)
            state.services[index].status.service = service
        }
    }

    public func deleteService(_ key: ServiceKey) throws(IPVSError) {
        let operation = IPVSOperation.deleteService(key)
        try state.withLock { (state: inout State) throws(IPVSError) in
            _ = state.services.remove(at: try Self.index(of: key, in: state, operation))
        }
    }

    public func realServers(of key: ServiceKey) throws(IPVSError) -> [RealServerStatus] {
        try state.withLock { (state: inout State) throws(IPVSError) in
            state.services[try Self.index(of: key, in: state, .getService(key))].realServers
        }
    }

    public func addRealServer(_ server: RealServer, to key: ServiceKey) throws(IPVSError) {
        let operation = IPVSOperation.addRealServer(server.endpoint, key)
        try state.withLock { (state: inout State) throws(IPVSError) in
            let index = try Self.index(of: key, in: state, operation)
            try Self.check(server, in: key, daemonsRunning: !state.daemons.isEmpty, operation)
            guard !state.services[index].realServers.contains(where: { $0.server.endpoint == server.endpoint }) else {
                throw operation.error(errno: EEXIST)
            }
            // The kernel puts a new real server at the head of the service's list (`list_add_rcu`), and lists
            // them in that order: the order-sensitive schedulers' tables depend on it.
            state.services[index].realServers.insert(RealServerStatus(server: server), at: 0)
        }
    }

    public func editRealServer(_ server: RealServer, in key: ServiceKey) throws(IPVSError) {
        let operation = IPVSOperation.editRealServer(server.endpoint, key)
        try state.withLock { (state: inout State) throws(IPVSError) in
            let index = try Self.index(of: key, in: state, operation)
            try Self.check(server, in: key, daemonsRunning: !state.daemons.isEmpty, operation)
            guard let r = state.services[index].realServers.firstIndex(where: { $0.server.endpoint == server.endpoint })
            else { throw operation.error(errno: ENOENT) }
            state.services[index].realServers[r].server = server
        }
    }

    public func deleteRealServer(_ endpoint: Endpoint, from key: ServiceKey) throws(IPVSError) {
        let operation = IPVSOperation.deleteRealServer(endpoint, key)
        try state.withLock { (state: inout State) throws(IPVSError) in
            let index = try Self.index(of: key, in: state, operation)
            guard let r = state.services[index].realServers.firstIndex(where: { $0.server.endpoint == endpoint }) else {
                throw operation.error(errno: ENOENT)
            }
            state.services[index].realServers.remove(at: r)
        }
    }

    /// The kernel's default for each is 0.
    public func sysctl(_ name: IPVSSysctl) throws(IPVSError) -> Int { state.withLock { $0.sysctls[name] ?? 0 } }

    public func setSysctl(_ name: IPVSSysctl, to value: Int) throws(IPVSError) {
        state.withLock { $0.sysctls[name] = value }
    }

    public func syncDaemons() throws(IPVSError) -> [SyncDaemon] {
        state.withLock { $0.daemons.sorted { $0.role.rawValue < $1.role.rawValue } }
    }

    public func startSyncDaemon(_ daemon: SyncDaemon) throws(IPVSError) {
        let operation = IPVSOperation.startDaemon(daemon)
        if let group = daemon.group, !group.isMulticast { throw operation.error(errno: EINVAL) }
        guard interfaces.contains(daemon.interface) else { throw operation.error(errno: ENODEV) }
        try state.withLock { (state: inout State) throws(IPVSError) in
            guard !state.daemons.contains(where: { $0.role == daemon.role }) else {
                throw operation.error(errno: EEXIST)
            }
            var effective = daemon
            effective.group = daemon.group ?? .v4(IPv4Address(224, 0, 0, 81))
            effective.port = daemon.port.flatMap { $0 == 0 ? nil : $0 } ?? 8848
            effective.ttl = daemon.ttl.flatMap { $0 == 0 ? nil : $0 } ?? 1
            effective.maximumLength = daemon.maximumLength.flatMap { $0 == 0 ? nil : $0 } ?? 1472
            state.daemons.append(effective)
            state.daemonStarts += 1
        }
    }

    /// How many sync daemons were started so far.
    public var syncDaemonStarts: Int { state.withLock { $0.daemonStarts } }

    public func stopSyncDaemon(_ role: SyncDaemon.Role) throws(IPVSError) {
        try state.withLock { (state: inout State) throws(IPVSError) in
            guard let index = state.daemons.firstIndex(where: { $0.role == role }) else {
                throw IPVSOperation.stopDaemon(role).error(errno: ESRCH)
            }
            state.daemons.remove(at: index)
        }
    }

    public func zeroCounters(_ key: ServiceKey?) throws(IPVSError) {
        try state.withLock { (state: inout State) throws(IPVSError) in
            var indices = Array(state.services.indices)
            if let key { indices = [try Self.index(of: key, in: state, .zero(key))] }
            for i in indices {
                state.services[i].status.statistics = IPVSStatistics()
                for r in state.services[i].realServers.indices {
                    state.services[i].realServers[r].statistics = IPVSStatistics()
                }
            }
        }
    }

    public func flush() throws(IPVSError) { state.withLock { $0.services.removeAll() } }

    /// Sets a service's counters (and its real servers'), as traffic through the kernel would: for tests of what
    /// reads them.
    public func setStatistics(_ statistics: IPVSStatistics, of key: ServiceKey) {
        state.withLock { state in
            for i in state.services.indices where state.services[i].status.service.key == key {
                state.services[i].status.statistics = statistics
                for r in state.services[i].realServers.indices {
                    state.services[i].realServers[r].statistics = statistics
                }
            }
        }
    }

    // MARK: - The kernel's rules

    private static func index(of key: ServiceKey, in state: State, _ operation: IPVSOperation) throws(IPVSError) -> Int
    {
        guard let index = state.services.firstIndex(where: { $0.status.service.key == key }) else {
            throw operation.error(errno: ESRCH)
        }
        return index
    }

    /// `ip_vs_add_service()` / `ip_vs_edit_service()`: the scheduler and engine must exist, an IPv6 netmask must be
    /// a prefix length of 1 to 128.
    private func check(_ service: VirtualService, _ operation: IPVSOperation) throws(IPVSError) {
        if service.key.family == .inet6, !(1...128).contains(service.netmask) { throw operation.error(errno: EINVAL) }
        guard schedulers.contains(service.scheduler) else { throw operation.error(errno: ENOENT) }
        if let engine = service.persistenceEngine, !persistenceEngines.contains(engine) {
            throw operation.error(errno: ENOENT)
        }
    }

    /// `ip_vs_add_dest()` / `ip_vs_edit_dest()` and `__ip_vs_update_dest()`.
    private static func check(
        _ server: RealServer,
        in key: ServiceKey,
        daemonsRunning: Bool,
        _ operation: IPVSOperation
    ) throws(IPVSError) {
        guard server.weight >= 0, server.lowerThreshold <= server.upperThreshold else {
            throw operation.error(errno: ERANGE)
        }
        guard server.upperThreshold <= UInt32(Int32.max), server.endpoint.address.isUnicast else {
            throw operation.error(errno: EINVAL)
        }
        if server.forwarding == .tunnel, server.tunnel?.type == .gue, server.tunnel?.port == 0 {
            throw operation.error(errno: EINVAL)
        }
        if server.endpoint.address.family != key.family, server.forwarding != .tunnel || daemonsRunning {
            throw operation.error(errno: EINVAL)
        }
    }
}

extension IPAddress {
    /// 224.0.0.0/4 or ff00::/8.
    var isMulticast: Bool {
        switch self {
        case .v4(let a): a.value >> 28 == 0xe
        case .v6(let a): a.high >> 56 == 0xff
        }
    }

    /// What the kernel accepts as a real server: not multicast, not broadcast, not unspecified (and for IPv6
    /// not link-local, which the kernel allows only for local addresses).
    var isUnicast: Bool {
        switch self {
        case .v4(let a): !isMulticast && a.value != 0xffff_ffff && a.value != 0
        case .v6(let a): !isMulticast && !(a.high == 0 && a.low == 0) && a.high >> 54 != 0x3fa
        }
    }
}
