import Config
import Failover
import HostNetwork
import IPVS
import Logging
import Metrics
import Mirror
import PeerProtocol
import Synchronization

/// One director's role as the election decides it, carried out on the host: the kernel sync daemons, lvsync's own
/// mirroring side (capture and send, or receive and inject), and the VIPs. Becoming active is a takeover's critical
/// path: the VIPs and their first announcement come first (the kernel already holds the mirrored connections, so
/// they forward at once), then the capture socket, then the kernel master daemon, then lvsync's source from the
/// mirrored table — each step timed (``lastTakeover``). A connection the new active creates in the millisecond before
/// its master daemon runs is sent to the standbys with its next state change or the periodic re-send, not lost.
/// Becoming standby: the VIPs go first, then the master daemon, and the kernel backup daemon takes the stream from
/// the new active.
public final class Director: Sendable {
    /// lvsync's own side of the mirror in the current role (the glossary: an active director's mirror is the
    /// source, a standby's the sink).
    public enum Mirroring: Sendable {
        /// Not yet decided (initialising), or stopped.
        case idle
        /// The active director: the capture feeds this source, the sender links stream it.
        case source(SyncSource, capture: Capture)
        /// A standby (or a director in fault): the receiver link feeds this sink.
        case sink(SyncSink)
    }

    /// The capture of the kernel master daemon's messages and the sync epoch it was opened in: a capture opened
    /// before a repair of the sync interface is bound to the old interface and must be opened again.
    public struct Capture: Sendable {
        /// The open capture.
        public let socket: any SyncMessageCapturing
        /// ``Director/syncEpoch`` when ``socket`` was opened.
        public let epoch: Int
    }

    /// What the director needs from the host.
    public struct Ports: Sendable {
        /// The kernel sync daemons.
        public var kernel: KernelSyncDaemons
        /// The host's addresses, where the VIPs are added and removed.
        public var addresses: any VirtualAddressControlling
        /// Announces the VIPs (gratuitous ARP, unsolicited neighbour advertisements).
        public var announcer: any NeighbourAnnouncing
        /// Puts and takes the routes by which a routing daemon announces a cluster member's VIPs.
        public var routes: any RouteAnnouncing
        /// Opens the capture of the kernel master daemon's messages (called on becoming active).
        public var openCapture: @Sendable () throws -> any SyncMessageCapturing
        /// Opens the way into the kernel backup daemon (once, by ``Director/prepare()``).
        public var openInjector: @Sendable () throws -> any SyncMessageInjecting
        /// The kernel's connections when there is no mirrored table to start from (`/proc/net/ip_vs_conn`).
        public var kernelTable: @Sendable () -> MirrorTable
        /// The kernel's connections its own traffic made, without those its backup daemon took from the other members
        /// (`/proc/net/ip_vs_conn_sync` marks them `SYNC`): a cluster member's stream starts from these.
        public var ownKernelTable: @Sendable () -> MirrorTable
        /// Makes sure the sync interface exists and is set up; returns its index.
        public var prepareSyncInterface: @Sendable () throws -> Int32
        /// The sync interface's index now (nil: missing), or why the host cannot tell.
        public var syncInterfaceIndex: @Sendable () -> Result<Int32?, HostNetworkError>

        /// Creates the ports.
        public init(
            kernel: KernelSyncDaemons,
            addresses: any VirtualAddressControlling,
            announcer: any NeighbourAnnouncing,
            routes: any RouteAnnouncing = NoRoutes(),
            openCapture: @escaping @Sendable () throws -> any SyncMessageCapturing,
            openInjector: @escaping @Sendable () throws -> any SyncMessageInjecting,
            kernelTable: @escaping @Sendable () -> MirrorTable,
            ownKernelTable: (@Sendable () -> MirrorTable)? = nil,
            prepareSyncInterface: @escaping @Sendable () throws -> Int32 = { 1 },
            syncInterfaceIndex: @escaping @Sendable () -> Result<Int32?, HostNetworkError> = { .success(1) }
        ) {
            self.kernel = kernel
            self.addresses = addresses
            self.announcer = announcer
            self.routes = routes
            self.openCapture = openCapture
            self.openInjector = openInjector
            self.kernelTable = kernelTable
            self.ownKernelTable = ownKernelTable ?? kernelTable
            self.prepareSyncInterface = prepareSyncInterface
            self.syncInterfaceIndex = syncInterfaceIndex
        }
    }

    /// The settings that shape the sources and sinks.
    public struct Settings: Sendable {
        /// The kernel sync ID.
        public var syncID: UInt8
        /// The kernel daemons' largest message.
        public var maximumMessageLength: Int
        /// Bytes of recent batches the active keeps for resuming standbys.
        public var logCapacityBytes: Int
        /// The VIPs.
        public var vips: [FailoverConfig.VIP]
        /// A cluster member's announcement table (`cluster.announce.table`; nil: it announces nothing).
        public var announceTable: UInt32?
        /// The connections each peer's mirror table is sized for up front (`sync.table_connections`; 0: grow).
        public var tableConnections = 0

        /// Creates the settings.
        public init(syncID: UInt8, maximumMessageLength: Int, logCapacityBytes: Int, vips: [FailoverConfig.VIP]) {
            self.syncID = syncID
            self.maximumMessageLength = maximumMessageLength
            self.logCapacityBytes = logCapacityBytes
            self.vips = vips
        }
    }

    /// How long each step of the last takeover took, from the start of the transition.
    public struct TakeoverSteps: Sendable, Hashable {
        /// When the transition began.
        public var at: ContinuousClock.Instant
        /// To every VIP on its interface (nil: none configured).
        public var vipsAdded: Duration?
        /// To the first announcement of the VIPs sent (nil: none held).
        public var announced: Duration?
        /// To the capture, the kernel master daemon and the mirror's source ready.
        public var syncMaster: Duration
    }

    /// A peer as its newest advert describes it.
    public struct PeerView: Sendable {
        /// The advert.
        public var advert: PeerMessage.Advert
        /// When it arrived.
        public var receivedAt: ContinuousClock.Instant
    }

    struct State {
        var role: ElectionState = .initialising
        var mirroring: Mirroring = .idle
        var generation = 0
        /// The role wants the VIPs (active).
        var holdingVIPs = false
        /// The VIPs the host holds as far as the last add or remove of each knows.
        var heldVIPs: Set<FailoverConfig.VIP> = []
        var peers: [String: PeerView] = [:]
        var injector: ReopeningInjector?
        /// The sync interface's index when the kernel daemon, the capture and the injector were last set on it.
        var syncIndex: Int32?
        /// Counts the sync plumbing's repairs: a capture opened in an older epoch is opened again.
        var syncEpoch = 0
        var fixed: PeeringConfig.Sync.Role?
        /// A cluster member: each other member's stream, by its name (nil: not a member).
        var members: [String: SyncSink]?
        var memberSince: ContinuousClock.Instant?
        var lastTransition: (from: ElectionState, to: ElectionState, reason: String, at: ContinuousClock.Instant)?
        var lastTakeover: TakeoverSteps?
        /// A cluster member's VIP routes are in the announcement table (as far as the last put or take knows).
        var announcing = false
        var announcedAt: ContinuousClock.Instant?
    }

    let state = Mutex(State())
    /// Held through every change of the kernel sync daemons (a role's transition, a repair), so that a repair never
    /// starts the daemon of a role being left.
    let plumbing = Mutex(())
    /// Held through every sequence of VIP changes (take, release, re-add), so that they never interleave.
    let vipOperations = Mutex(())
    /// Serializes the puts and takes of the announcement routes: a withdrawal (a drain, a drill) never lands between
    /// the keeper's look at `announcing` and its put, which would put the routes back.
    let routeOperations = Mutex(())
    let ports: Ports
    /// The settings.
    public let settings: Settings
    let logger: Logger
    /// Wakes whoever follows the role or the peers' adverts (dial loops, sender links, the capture runner).
    public let changes = ChangeSignal()

    /// Creates a director that holds nothing yet.
    public init(ports: Ports, settings: Settings, logger: Logger) {
        self.ports = ports
        self.settings = settings
        self.logger = logger
    }

    // MARK: - What it is now

    /// The role.
    public var role: ElectionState { state.withLock { $0.role } }

    /// The mirroring side and its generation (it changes with every role change).
    public var mirroring: (generation: Int, mirroring: Mirroring) {
        state.withLock { ($0.generation, $0.mirroring) }
    }

    /// The source while active.
    public var source: SyncSource? {
        guard case .source(let source, _) = mirroring.mirroring else { return nil }
        return source
    }

    /// The sink while standby.
    public var sink: SyncSink? {
        guard case .sink(let sink) = mirroring.mirroring else { return nil }
        return sink
    }

    /// Whether every VIP is held: the role wants them and each one's add succeeded (a VIP whose add failed is not
    /// held, whatever the role).
    public var vipsHeld: Bool {
        state.withLock { $0.holdingVIPs && $0.heldVIPs.count == settings.vips.count }
    }

    /// The VIPs the host holds (as the last add or remove of each left it), in the configuration's order.
    public var heldVIPs: [FailoverConfig.VIP] {
        state.withLock { state in settings.vips.filter { state.heldVIPs.contains($0) } }
    }

    /// The peers' newest adverts.
    public var peers: [String: PeerView] { state.withLock { $0.peers } }

    /// The last change of role.
    public var lastTransition: (from: ElectionState, to: ElectionState, reason: String, at: ContinuousClock.Instant)? {
        state.withLock { $0.lastTransition }
    }

    /// How long each step of the last takeover took (nil: never active).
    public var lastTakeover: TakeoverSteps? { state.withLock { $0.lastTakeover } }

    /// The mirror table's size, the stream position and the kernel's own count, for adverts.
    public var tableFigures: (size: Int, position: PeerMessage.Position, kernel: Int?) {
        switch mirroring.mirroring {
        case .idle: return (0, .none, nil)
        case .source(let source, _):
            let figures = source.figures
            let position = PeerMessage.Position(streamID: source.streamID, sequence: figures.lastSequence)
            return (figures.tableSize, position, figures.kernelConnections)
        case .sink(let sink):
            let figures = sink.figures
            return (figures.tableSize, figures.position, figures.kernelConnections)
        }
    }

    /// Records a peer's advert (already checked against the link's identity), heard at `time`.
    public func heard(_ advert: PeerMessage.Advert, at time: ContinuousClock.Instant = .now) {
        let changed = state.withLock { state in
            let previous = state.peers[advert.node]?.advert
            // A late copy from the other path is not news.
            if let previous, previous.incarnation == advert.incarnation, previous.sequence >= advert.sequence {
                return false
            }
            state.peers[advert.node] = PeerView(advert: advert, receivedAt: time)
            return previous?.state != advert.state
        }
        if changed { changes.signal() }
    }

    /// The link a dial loop should open to `peer` now: the stream when this director is a standby (or in fault)
    /// and the peer advertises itself active, else adverts only.
    public func wantedLink(to peer: String) -> PeerMessage.Role {
        state.withLock { state in
            // A cluster member takes every other member's stream.
            if state.members != nil { return .receiver }
            if let fixed = state.fixed { return fixed == .standby ? .receiver : .observer }
            guard state.role == .standby || state.role == .fault, case .sink = state.mirroring,
                state.peers[peer]?.advert.state == .active
            else { return .observer }
            return .receiver
        }
    }

    // MARK: - Transitions

    /// Opens what a role needs and a failure should stop the daemon for at start rather than at a takeover: the way
    /// into the kernel backup daemon.
    public func prepare() throws {
        guard state.withLock({ $0.injector == nil }) else { return }
        let injector = try ReopeningInjector(open: ports.openInjector)
        state.withLock { $0.injector = injector }
    }

    /// Takes a role the configuration fixes (`sync.role`: no election, no VIPs), for good; a failure to start the
    /// kernel's sync daemon or the capture is thrown, for the daemon to stop with.
    public func start(fixed role: PeeringConfig.Sync.Role) throws {
        state.withLock { $0.fixed = role }
        if role == .standby { try prepare() }
        try plumbing.withLock { _ in
            switch role {
            case .active: try activate()
            case .standby: try backUp(strict: true)
            }
        }
        state.withLock { $0.role = role == .active ? .active : .standby }
        changes.signal()
    }

    /// The sink that takes `peer`'s stream when this director receives it: a cluster member's sink for that member,
    /// or a standby's one sink (nil: this director takes no stream now).
    public func sink(receivingFrom peer: String, in mirroring: Mirroring) -> SyncSink? {
        if let members = state.withLock({ $0.members }) { return members[peer] }
        if case .sink(let sink) = mirroring { return sink }
        return nil
    }

    /// Carries out a change of role the election decided.
    public func transition(to role: ElectionState, reason: String) {
        let from = self.role
        plumbing.withLock { _ in
            switch role {
            case .active: becomeActive()
            case .standby, .fault: becomeBackup()
            case .stopped, .initialising: stop()
            }
            state.withLock { state in
                state.role = role
                state.lastTransition = (from, role, reason, .now)
            }
        }
        Counter(
            label: "lvsync_election_transitions_total",
            dimensions: [("from", from.rawValue), ("to", role.rawValue)]
        ).increment()
        changes.signal()
    }

    private func becomeActive() {
        let started = ContinuousClock.now
        var steps = TakeoverSteps(at: started, vipsAdded: nil, announced: nil, syncMaster: .zero)
        let (added, failed) = vipOperations.withLock { _ in
            state.withLock { $0.holdingVIPs = true }
            return addMissing()
        }
        if !settings.vips.isEmpty { steps.vipsAdded = .now - started }
        if announce() { steps.announced = .now - started }
        do {
            try activate()
        } catch {
            logger.error("cannot become the sync master", metadata: ["error": "\(error)"])
        }
        steps.syncMaster = .now - started
        state.withLock { $0.lastTakeover = steps }
        logger.info(
            "took the VIPs",
            metadata: ["vips": "\(settings.vips.map(\.description))", "added": "\(added)", "failed": "\(failed)"]
        )
    }

    /// The capture, the kernel master daemon and the source, from the mirrored table (or the kernel's).
    private func activate() throws {
        if case .source = mirroring.mirroring {
            // Started again after a stop that ended the kernel's daemon: the mirror is still the source.
            try ports.kernel.run(.master)
            return
        }
        let table: MirrorTable
        if case .sink(let sink) = mirroring.mirroring {
            table = sink.table
        } else {
            table = ports.kernelTable()
        }
        // The capture first: the master daemon's first messages must not go by unseen. The epoch is read under
        // `plumbing`, which a repair holds too: the capture and its epoch agree.
        let capture = Capture(socket: try ports.openCapture(), epoch: syncEpoch)
        try ports.kernel.run(.master)
        let source = SyncSource(
            syncID: settings.syncID,
            maximumMessageLength: settings.maximumMessageLength,
            logCapacityBytes: settings.logCapacityBytes,
            table: table
        )
        state.withLock {
            $0.mirroring = .source(source, capture: capture)
            $0.generation += 1
        }
        logger.info(
            "mirroring as the active director",
            metadata: ["mirror.size": "\(table.count)", "stream": "\(String(source.streamID, radix: 16))"]
        )
    }

    private func becomeBackup() {
        releaseVIPs()
        do {
            try backUp(strict: false)
        } catch {
            logger.error("cannot become a sync backup", metadata: ["error": "\(error)"])
        }
    }

    /// The kernel backup daemon and the sink that feeds it (the sink even when the daemon cannot start, unless
    /// `strict`: a standby that becomes active later still needs the mirrored table).
    private func backUp(strict: Bool) throws {
        do {
            try ports.kernel.run(.backup)
        } catch {
            if strict { throw error }
            logger.error("cannot become a sync backup", metadata: ["error": "\(error)"])
        }
        if case .sink = mirroring.mirroring { return }
        guard let injector = state.withLock({ $0.injector }) else {
            throw DaemonError("no way into the kernel backup daemon: the director was not prepared")
        }
        let sink = SyncSink(
            injector: injector,
            maximumMessageLength: settings.maximumMessageLength,
            tableConnections: settings.tableConnections
        )
        state.withLock {
            $0.mirroring = .sink(sink)
            $0.generation += 1
        }
    }

    /// Gives up everything the role holds on the host, whatever the role and however the daemon ends: the VIPs and
    /// the kernel's sync daemons (lvsync's own mirror is the process's, and goes with it). Idempotent; failures are logged (there is nobody left to
    /// throw to).
    public func relinquish() {
        withdrawRoutes()
        plumbing.withLock { _ in
            releaseVIPs()
            for role in [SyncDaemon.Role.master, .backup] {
                do {
                    try ports.kernel.stop(role)
                } catch {
                    logger.error("cannot stop the kernel \(role) sync daemon", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Removes the configured VIPs this host holds before the director decides its role: left by an earlier run that
    /// could not release them (a SIGKILL, a crash), they would make two directors answer for them during the boot
    /// wait.
    public func removeLeftoverVIPs() {
        var removed: [String] = []
        for vip in settings.vips {
            do {
                if try give(vip) { removed.append(vip.description) }
            } catch {
                logger.error(
                    "cannot remove a VIP left from an earlier run",
                    metadata: ["vip": "\(vip)", "error": "\(error)"]
                )
            }
        }
        if !removed.isEmpty {
            logger.warning("removed VIPs left from an earlier run", metadata: ["removed": "\(removed)"])
        }
    }

    private func stop() {
        releaseVIPs()
        state.withLock {
            $0.mirroring = .idle
            $0.generation += 1
        }
    }

    /// Adds every VIP the host lacks while the role wants them (an add is idempotent: a VIP already on its
    /// interface counts as held); returns what it added and what it could not. Nothing while the role does not
    /// want them: a release and this never interleave.
    @discardableResult
    public func addMissingVIPs() -> (added: [String], failed: [String]) {
        vipOperations.withLock { _ in
            guard state.withLock({ $0.holdingVIPs }) else { return ([], []) }
            return addMissing()
        }
    }

    func addMissing() -> (added: [String], failed: [String]) {
        var added: [String] = []
        var failed: [String] = []
        for vip in settings.vips {
            do {
                if try take(vip) { added.append(vip.description) }
                state.withLock { _ = $0.heldVIPs.insert(vip) }
            } catch {
                failed.append(vip.description)
                state.withLock { _ = $0.heldVIPs.remove(vip) }
                logger.error("cannot take a VIP", metadata: ["vip": "\(vip)", "error": "\(error)"])
            }
        }
        return (added, failed)
    }

    /// One round of announcements for the VIPs held; whether it went out.
    @discardableResult
    public func announce() -> Bool {
        // A cluster member's VIPs are the routers' business, not ARP's.
        guard state.withLock({ $0.members == nil }) else { return false }
        let held = state.withLock { state in settings.vips.filter { state.heldVIPs.contains($0) } }
        guard !held.isEmpty else { return false }
        do {
            _ = try ports.announcer.announceOnce(held.map(\.virtualAddress))
            return true
        } catch {
            logger.warning("cannot announce the VIPs", metadata: ["error": "\(error)"])
            return false
        }
    }

    func releaseVIPs() {
        vipOperations.withLock { _ in
            state.withLock { $0.holdingVIPs = false }
            removeVIPs()
        }
    }

    private func removeVIPs() {
        guard !settings.vips.isEmpty else { return }
        var released: [String] = []
        for vip in settings.vips {
            do {
                if try give(vip) { released.append(vip.description) }
                state.withLock { _ = $0.heldVIPs.remove(vip) }
            } catch {
                logger.error("cannot release a VIP", metadata: ["vip": "\(vip)", "error": "\(error)"])
            }
        }
        if !released.isEmpty {
            logger.info("released the VIPs", metadata: ["removed": "\(released)"])
        }
    }
}

/// Wakes every subscriber when something changed (coalescing: a slow subscriber sees one wake-up for many changes).
public final class ChangeSignal: Sendable {
    private let subscribers = Mutex<(next: Int, all: [Int: AsyncStream<Void>.Continuation])>((0, [:]))

    /// Nobody listens yet.
    public init() {}

    /// A stream of wake-ups (one is pending at once, so the subscriber looks at the state first) and its id.
    public func subscribe() -> (id: Int, wakeups: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.yield()
        let id = subscribers.withLock {
            $0.next += 1
            $0.all[$0.next] = continuation
            return $0.next
        }
        return (id, stream)
    }

    /// Ends a subscription.
    public func unsubscribe(_ id: Int) {
        subscribers.withLock { $0.all.removeValue(forKey: id) }?.finish()
    }

    /// Wakes everyone.
    public func signal() {
        for continuation in subscribers.withLock({ Array($0.all.values) }) { continuation.yield() }
    }
}
