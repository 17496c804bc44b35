import SyncWire

/// The kernel's IPVS table and sync daemons, as `ipvsadm` drives them: the one interface everything above uses.
///
/// ``NetlinkIPVS`` talks to a real kernel over generic netlink; ``InMemoryIPVS`` enforces the same rules in memory
/// for tests. Calls block for a round trip to the kernel: call them from a thread that may block, never from an
/// event loop.
public protocol IPVSControl: Sendable {
    /// The IPVS version and connection table size.
    func info() throws(IPVSError) -> IPVSInfo
    /// The default TCP, TCP FIN and UDP timeouts.
    func timeouts() throws(IPVSError) -> IPVSTimeouts
    /// Changes the default timeouts (0 leaves one as it is).
    func setTimeouts(_ timeouts: IPVSTimeouts) throws(IPVSError)

    /// Every virtual service with its counters.
    func services() throws(IPVSError) -> [ServiceStatus]
    /// Adds a virtual service.
    func addService(_ service: VirtualService) throws(IPVSError)
    /// Changes a virtual service's scheduler, flags, persistence and engine.
    func editService(_ service: VirtualService) throws(IPVSError)
    /// Deletes a virtual service and its real servers.
    func deleteService(_ key: ServiceKey) throws(IPVSError)

    /// The real servers of a service with their connection counts and counters.
    func realServers(of key: ServiceKey) throws(IPVSError) -> [RealServerStatus]
    /// Adds a real server to a service.
    func addRealServer(_ server: RealServer, to key: ServiceKey) throws(IPVSError)
    /// Changes a real server's forwarding, weight and thresholds (its connections stay).
    func editRealServer(_ server: RealServer, in key: ServiceKey) throws(IPVSError)
    /// Removes a real server from a service.
    func deleteRealServer(_ endpoint: Endpoint, from key: ServiceKey) throws(IPVSError)

    /// The running sync daemons (master first).
    func syncDaemons() throws(IPVSError) -> [SyncDaemon]
    /// Starts a sync daemon.
    func startSyncDaemon(_ daemon: SyncDaemon) throws(IPVSError)
    /// Stops the sync daemon of a role.
    func stopSyncDaemon(_ role: SyncDaemon.Role) throws(IPVSError)

    /// The value of an IPVS sysctl in the kernel's namespace.
    func sysctl(_ name: IPVSSysctl) throws(IPVSError) -> Int
    /// Sets an IPVS sysctl.
    func setSysctl(_ name: IPVSSysctl, to value: Int) throws(IPVSError)

    /// Zeroes the counters of one service, or of all with nil.
    func zeroCounters(_ key: ServiceKey?) throws(IPVSError)
    /// Deletes every virtual service.
    func flush() throws(IPVSError)
}
