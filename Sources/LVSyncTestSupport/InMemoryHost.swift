import Config
import Daemon
import HostNetwork
import IPVS
import Synchronization

/// One director's host in memory: the kernel's IPVS, the kernel sync daemons' twins (what the master "multicasts",
/// what the backup "receives"), the VIPs, and the interfaces that are up. ``host`` is the ``DaemonHost`` a daemon
/// built for a test runs on; the twins stay reachable here for the test to drive and inspect.
public final class InMemoryHost: Sendable {
    /// The kernel's IPVS.
    public let ipvs = InMemoryIPVS()
    /// The kernel master sync daemon: what a test emits here, the daemon captures.
    public let master = InMemoryKernelMaster()
    /// The kernel backup sync daemon: what the daemon injects lands here.
    public let backup = InMemoryKernelBackup()
    /// The addresses on the host's interfaces (the VIPs held).
    public let addresses = InMemoryAddresses()
    /// The VIPs' announcements.
    public let announcer = InMemoryAnnouncer()
    /// The announced routes' twin.
    public let routes = InMemoryRoutes()
    private let down = Mutex<Set<String>>([])
    private let interfaceQueryFailure = Mutex<HostNetworkError?>(nil)
    private let syncIndex = Mutex<(current: Int32?, next: Int32)>((nil, 100))
    private let opened = Mutex<(captures: Int, injectors: Int)>((0, 0))

    /// How many times the daemon opened the capture and the injector.
    public var opens: (captures: Int, injectors: Int) { opened.withLock { $0 } }

    /// Every interface up, nothing held.
    /// A file in `/proc/net/ip_vs_conn`'s format the daemon reads as the kernel's table (nil: none, and no audit).
    public let connectionTable = Mutex<String?>(nil)

    public init() {}

    /// Takes interface `name` down (a failover health condition fails) or up again.
    public func setInterface(_ name: String, up: Bool) {
        down.withLock { if up { $0.remove(name) } else { $0.insert(name) } }
    }

    /// Deletes the sync interface (its index is gone; `recreate`: and creates it again under a new index, as
    /// `ip link del lvsync0; ip link add lvsync0 type dummy` would).
    public func deleteSyncInterface(recreate: Bool) {
        syncIndex.withLock { $0.current = recreate ? Self.newIndex(&$0) : nil }
    }

    /// The sync interface's index (nil: missing).
    public var syncInterfaceIndex: Int32? { syncIndex.withLock { $0.current } }

    private static func newIndex(_ state: inout (current: Int32?, next: Int32)) -> Int32 {
        state.next += 1
        return state.next
    }

    /// Makes every interface query fail with `error` (the host cannot tell: e.g. no descriptor left), or work again.
    public func failInterfaceQueries(with error: HostNetworkError?) {
        interfaceQueryFailure.withLock { $0 = error }
    }

    /// The daemon's view of this host.
    public var host: DaemonHost {
        let (master, backup) = (master, backup)
        return DaemonHost(
            ipvs: ipvs,
            addresses: addresses,
            announcer: announcer,
            prepareSyncInterface: { [self] _ in
                syncIndex.withLock { state in
                    if let current = state.current { return current }
                    let index = Self.newIndex(&state)
                    state.current = index
                    return index
                }
            },
            syncInterfaceIndex: { [self] _ in
                if let error = interfaceQueryFailure.withLock({ $0 }) { return .failure(error) }
                return .success(syncIndex.withLock { $0.current })
            },
            openCapture: { [self] _ in
                opened.withLock { $0.captures += 1 }
                return master
            },
            openInjector: { [self] _ in
                opened.withLock { $0.injectors += 1 }
                return backup
            },
            interfaceIsUp: { [self] name in
                if let error = interfaceQueryFailure.withLock({ $0 }) { return .failure(error) }
                return .success(!self.down.withLock { $0.contains(name) })
            },
            connectionTable: connectionTable.withLock { $0 },
            routes: routes
        )
    }
}

extension DaemonHost {
    /// A host in memory (its twins unreachable: use ``InMemoryHost`` to drive and inspect them).
    public static func inMemory() -> DaemonHost { InMemoryHost().host }
}
