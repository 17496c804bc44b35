import Config
import HostNetwork
import IPVS
import SyncWire

/// The kernel and host edges a daemon works through: the IPVS control plane, the sync interface, the capture of the
/// kernel master daemon's messages and the injection into the backup daemon, the VIPs and their announcements (and a
/// cluster member's routes), the interfaces' states and the kernel's connection table. ``linux()`` is the real host; tests and benchmarks use
/// in-memory twins (`DaemonHost.inMemory()` in the test-support library), so that a daemon built from a
/// configuration file runs the same code either way.
public struct DaemonHost: Sendable {
    /// The kernel's IPVS: services, sync daemons, timeouts.
    public var ipvs: any IPVSControl
    /// The addresses on this host's interfaces (where the VIPs go).
    public var addresses: any VirtualAddressControlling
    /// The VIPs' announcements: gratuitous ARP, unsolicited neighbour advertisements.
    public var announcer: any NeighbourAnnouncing
    /// The routes by which a routing daemon announces a cluster member's VIPs.
    public var routes: any RouteAnnouncing
    /// Makes sure the sync interface exists, is up, carries its address and multicast; returns its index.
    public var prepareSyncInterface: @Sendable (PeeringConfig.Sync) throws -> Int32
    /// The sync interface's index now (nil: it is missing), or why the host could not tell.
    public var syncInterfaceIndex: @Sendable (PeeringConfig.Sync) -> Result<Int32?, HostNetworkError>
    /// Opens the capture of the kernel master daemon's messages (on becoming the active director).
    public var openCapture: @Sendable (PeeringConfig.Sync) throws -> any SyncMessageCapturing
    /// Opens the way into the kernel backup daemon (on becoming a standby).
    public var openInjector: @Sendable (PeeringConfig.Sync) throws -> any SyncMessageInjecting
    /// Whether an interface exists, is up and has its carrier (a failover health condition), or why the host could
    /// not tell.
    public var interfaceIsUp: @Sendable (String) -> Result<Bool, HostNetworkError>
    /// The kernel's connection table (`/proc/net/ip_vs_conn`), read to seed the mirror when lvsync starts late and to
    /// re-send the table before a drill; nil: the host has none (an empty table).
    public var connectionTable: String?

    /// A host made of these edges.
    public init(
        ipvs: any IPVSControl,
        addresses: any VirtualAddressControlling,
        announcer: any NeighbourAnnouncing,
        prepareSyncInterface: @escaping @Sendable (PeeringConfig.Sync) throws -> Int32,
        syncInterfaceIndex: @escaping @Sendable (PeeringConfig.Sync) -> Result<Int32?, HostNetworkError>,
        openCapture: @escaping @Sendable (PeeringConfig.Sync) throws -> any SyncMessageCapturing,
        openInjector: @escaping @Sendable (PeeringConfig.Sync) throws -> any SyncMessageInjecting,
        interfaceIsUp: @escaping @Sendable (String) -> Result<Bool, HostNetworkError>,
        connectionTable: String?,
        routes: any RouteAnnouncing = NoRoutes()
    ) {
        self.routes = routes
        self.ipvs = ipvs
        self.addresses = addresses
        self.announcer = announcer
        self.prepareSyncInterface = prepareSyncInterface
        self.syncInterfaceIndex = syncInterfaceIndex
        self.openCapture = openCapture
        self.openInjector = openInjector
        self.interfaceIsUp = interfaceIsUp
        self.connectionTable = connectionTable
    }

    /// This Linux host, in the calling thread's network namespace: IPVS over generic netlink, addresses over
    /// rtnetlink, the capture on an `AF_PACKET` socket, the injection by looped multicast.
    /// - Throws: ``DaemonError`` when the IPVS generic netlink family cannot be reached.
    public static func linux() throws(DaemonError) -> DaemonHost {
        let ipvs: NetlinkIPVS
        do {
            ipvs = try NetlinkIPVS()
        } catch {
            throw DaemonError(error.description)
        }
        return DaemonHost(
            ipvs: ipvs,
            addresses: NetlinkAddresses(),
            announcer: NeighbourAnnouncer(),
            prepareSyncInterface: { sync in
                try SyncInterface.ensure(name: sync.interface, address: sync.address).index
            },
            syncInterfaceIndex: { sync in
                Result { () throws(HostNetworkError) in try InterfaceState().index(of: sync.interface) }
            },
            openCapture: { sync in
                try PacketCapture(
                    interface: sync.interface,
                    group: .v4(sync.group),
                    ports: sync.port...sync.port,
                    receiveBufferBytes: sync.captureBufferBytes
                )
            },
            openInjector: { sync in
                try MulticastInjector(interface: sync.interface, group: .v4(sync.group), port: sync.port)
            },
            interfaceIsUp: { name in
                Result { () throws(HostNetworkError) in try InterfaceState.query(name: name).isRunning }
            },
            connectionTable: "/proc/net/ip_vs_conn",
            routes: NetlinkRoutes()
        )
    }
}
