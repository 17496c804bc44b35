import ArgumentParser
import Config
import Control
import Daemon
import Failover
import Foundation
import HostNetwork
import IPVS
import Logging
import Metrics
import Mirror
import NIOCore
import PeerProtocol
import PeerTransport
import Prometheus
import ServiceLifecycle
import SyncWire
import UnixSignals

/// `lvsync run --config FILE`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: mirror connections to or from the peer directors (foreground, logs to stderr).",
        discussion: """
            The active director starts the kernel master sync daemon on the sync interface, captures its messages \
            and streams them over mutually authenticated TLS to every standby, a snapshot first. A standby \
            starts the kernel backup sync daemon and feeds it what arrives. SIGTERM or SIGINT stops it gracefully.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    @Option(help: "The log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: "The log format: text (key=value) or json (one object per line, for log pipelines and jq).")
    var logFormat: String = "text"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        guard ["text", "json"].contains(logFormat) else {
            throw CLIError("--log-format: expected text or json, found \"\(logFormat)\"")
        }
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lvsync")
        let (file, peering) = try loadConfig()
        // The metrics first: every counter made from here on lands in the registry the endpoint serves.
        let registry = PrometheusCollectorRegistry()
        var endpoint: MetricsEndpoint?
        let stats = StatsMetrics(registry: registry)
        let statsSource = DeferredStats()
        if let listen = peering.metricsListen {
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.durationHistogramBuckets["lvsync_sync_lag_seconds"] = [
                .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
            ]
            MetricsSystem.bootstrap(factory)
            do {
                endpoint = try await MetricsEndpoint.bind(
                    host: listen.address.description,
                    port: Int(listen.port),
                    registry: registry,
                    refresh: { stats.update(from: statsSource.current()) },
                    logger: logger
                )
            } catch {
                throw CLIError(error.description)
            }
        }
        // An elected director's control socket first: a second daemon stops here, before it touches the kernel.
        // (A director with a fixed sync.role has no election to report or drill: no socket.)
        let responder = DeferredResponder()
        var control: ControlServer?
        if peering.failover != nil {
            do {
                control = try await ControlServer.bind(
                    path: peering.controlSocket ?? ControlServer.defaultSocketPath,
                    responder: responder,
                    logger: logger
                )
            } catch {
                throw CLIError(error.description)
            }
        }
        let identity: NodeIdentity
        let tls: PeerTLS
        do {
            identity = try NodeIdentity.load(
                certificateFile: peering.tls.certificate,
                privateKeyFile: peering.tls.key,
                caFile: peering.tls.ca
            )
            tls = try PeerTLS(identity: identity)
        } catch {
            throw CLIError("\(config): tls: \(error)")
        }
        guard identity.name == peering.node else {
            throw CLIError(
                "\(config): node is '\(peering.node)' but \(peering.tls.certificate) names '\(identity.name)'"
            )
        }
        let ipvs: NetlinkIPVS
        do {
            ipvs = try NetlinkIPVS()
        } catch {
            throw CLIError(error.description)
        }
        try converge(file.virtualServices, ipvs: ipvs, logger: logger)
        do {
            try KernelTunables.apply(file.kernel, to: ipvs, logger: logger)
        } catch {
            throw CLIError("\(config): kernel: \(error)")
        }
        for advice in file.advice { logger.warning("configuration advice", metadata: ["advice": "\(advice)"]) }
        let running = RunningConfiguration(file)
        let roster = HealthRoster(file.health.checks)
        let sync = peering.sync
        do {
            try SyncInterface.ensure(name: sync.interface, address: sync.address)
        } catch {
            throw CLIError("sync interface \(sync.interface): \(error)")
        }
        let daemons = KernelSyncDaemons(ipvs: ipvs, sync: sync, logger: logger)
        let maximumMessage = Int(sync.maximumMessageBytes ?? UInt16(SyncWireLayout.defaultMaximumMessageLength))
        let health = HealthMonitor()
        let service: any Service
        var roleChanges: ChangeSignal?
        var isActive: @Sendable () -> Bool = { sync.role == .active }
        var ready: @Sendable () -> Bool = { true }
        var systemdStatus: @Sendable () -> String = { "\(sync.role?.rawValue ?? "running")" }
        if let failover = peering.failover {
            let director = try electedDirector(
                peering: peering,
                failover: failover,
                tls: tls,
                ipvs: ipvs,
                daemons: daemons,
                maximumMessage: maximumMessage,
                logger: logger
            )
            let control = DirectorControl(service: director, health: health) {
                KernelBootstrap.connections(ipvs: ipvs)
            }
            roleChanges = director.director.changes
            isActive = { director.director.role == .active }
            responder.become(control)
            statsSource.become { control.currentStats() }
            ready = { director.director.role != .initialising }
            systemdStatus = {
                let peers = director.director.peers.keys.sorted().filter { director.relay.isLinked(to: $0) }
                return
                    "\(director.director.role), peers linked: \(peers.isEmpty ? "none" : peers.joined(separator: ", ")), "
                    + "mirror \(director.director.tableFigures.size) connections"
            }
            service = director
        } else {
            service = try fixedRole(
                peering: peering,
                tls: tls,
                ipvs: ipvs,
                daemons: daemons,
                maximumMessage: maximumMessage,
                logger: logger
            )
        }
        let notifier = SystemdNotifier()
        logger.info(
            "lvsync starts",
            metadata: [
                "node": "\(peering.node)", "role": "\(sync.role?.rawValue ?? "elected")", "config": "\(config)",
            ]
        )
        let activeNow = isActive
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: (control.map { [ControlService(server: $0)] } ?? [])
                    + (endpoint.map { [MetricsService(endpoint: $0)] } ?? []) + [
                        ReloadService(
                            reloader: ConfigReloader(
                                path: config,
                                running: peering,
                                ipvs: ipvs,
                                logger: logger,
                                // The new file's services as the running checks see its servers.
                                adjust: { Self.healthAdjusted($0, monitor: health) },
                                applied: { new in
                                    running.replace(with: new)
                                    let checks = HealthService.reload(
                                        new.health.checks,
                                        roster: roster,
                                        monitor: health
                                    )
                                    if !checks.added.isEmpty || !checks.removed.isEmpty {
                                        logger.notice(
                                            "health checks reloaded",
                                            metadata: [
                                                "added": "\(checks.added.count)", "removed": "\(checks.removed.count)",
                                                "kept": "\(checks.kept)",
                                            ]
                                        )
                                    }
                                    // Servers whose check went away are no longer held down.
                                    if activeNow() {
                                        Self.applyHealth(
                                            new,
                                            down: health.down,
                                            monitor: health,
                                            ipvs: ipvs,
                                            logger: logger
                                        )
                                    }
                                }
                            ),
                            notifier: notifier
                        ),
                        SystemdService(notifier: notifier, isReady: ready, status: systemdStatus, logger: logger),
                        HealthService(
                            roster: roster,
                            monitor: health,
                            roleChanges: roleChanges,
                            logger: logger
                        ) { down in
                            // Only the active director changes the kernel; a standby keeps the view for its takeover.
                            // The file as it runs now: a reload's services are not undone.
                            guard activeNow() else { return }
                            Self.applyHealth(running.current, down: down, monitor: health, ipvs: ipvs, logger: logger)
                        },
                        service,
                    ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("lvsync stopped")
    }

    /// Converges the kernel's services to the configuration as the health checks adjust it (a down server quiesced
    /// or removed, a sorry server while none is left); nothing is sent when nothing changed.
    private static func applyHealth(
        _ file: LVSyncConfig,
        down: Set<ServerRef>,
        monitor: HealthMonitor,
        ipvs: NetlinkIPVS,
        logger: Logger
    ) {
        guard !file.virtualServices.isEmpty else { return }
        let desired = healthAdjusted(file, monitor: monitor, down: down)
        do {
            let changes = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: desired)
            guard !changes.isEmpty else { return }
            try IPVSPlanner.apply(changes, to: ipvs)
            logger.notice(
                "IPVS services adjusted to the health checks",
                metadata: [
                    "changes": "\(changes.map { "\($0)" })", "servers_down": "\(down.sorted().map(\.description))",
                ]
            )
        } catch {
            logger.error("cannot adjust the IPVS services to the health checks", metadata: ["error": "\(error)"])
        }
    }

    /// A file's services as the health checks see its servers now: down ones quiesced or removed, recovering ones
    /// ramping, a sorry server where none is left (`down`: the monitor's, unless given).
    private static func healthAdjusted(
        _ file: LVSyncConfig,
        monitor: HealthMonitor,
        down: Set<ServerRef>? = nil
    ) -> [DesiredService] {
        let ramps = Dictionary(
            file.health.checks.map {
                (ServerRef($0), Duration.milliseconds($0.rampUpMilliseconds))
            },
            uniquingKeysWith: { first, _ in first }
        )
        return HealthPolicy.desired(
            file.virtualServices,
            health: file.health,
            down: down ?? monitor.down,
            ramping: monitor.ramping(ramps)
        )
    }

    /// The director of an elected pair (the `failover` section).
    private func electedDirector(
        peering: PeeringConfig,
        failover: FailoverConfig,
        tls: PeerTLS,
        ipvs: NetlinkIPVS,
        daemons: KernelSyncDaemons,
        maximumMessage: Int,
        logger: Logger
    ) throws -> DirectorService {
        let sync = peering.sync
        let election: ElectionConfiguration
        do {
            election = try ElectionConfiguration(
                node: peering.node,
                priority: Int(peering.priority),
                preempt: failover.preempt,
                preemptDelay: .milliseconds(failover.preemptDelayMilliseconds),
                heartbeatInterval: .milliseconds(peering.heartbeatMilliseconds),
                deadInterval: .milliseconds(peering.deadMilliseconds),
                bootWait: .milliseconds(failover.bootWaitMilliseconds),
                healthConditions: Dictionary(
                    failover.health.map { health in
                        (
                            HealthCondition(health.condition),
                            health.lowerPriorityBy.map { HealthResponse.lowerPriority(by: $0) } ?? .fault
                        )
                    },
                    uniquingKeysWith: { first, _ in first }
                )
            )
        } catch {
            throw CLIError("\(config): failover: \(error)")
        }
        let injection: MulticastInjection
        do {
            injection = try MulticastInjection(interface: sync.interface, group: sync.group, port: sync.port)
        } catch {
            throw CLIError("sync interface \(sync.interface): \(error)")
        }
        let ports = Director.Ports(
            kernel: daemons,
            addresses: HostVirtualAddresses(),
            openCapture: {
                try PacketCaptureSource(interface: sync.interface, group: sync.group, port: sync.port)
            },
            injector: injection,
            kernelTable: { Self.bootstrapTable(ipvs: ipvs, logger: logger) }
        )
        let director = Director(
            ports: ports,
            settings: Director.Settings(
                syncID: sync.syncID,
                maximumMessageLength: maximumMessage,
                logCapacityBytes: sync.logBytes,
                vips: failover.vips
            ),
            logger: logger
        )
        var checks: [String: @Sendable () -> Bool] = [:]
        for health in failover.health {
            switch health.condition {
            case "ipvs":
                checks[health.condition] = { (try? ipvs.info()) != nil }
            case "sync-interface":
                checks[health.condition] = { HostVirtualAddresses.interfaceIsUp(sync.interface) }
            default:
                let name = String(health.condition.dropFirst("interface:".count))
                checks[health.condition] = { HostVirtualAddresses.interfaceIsUp(name) }
            }
        }
        guard let listen = peering.listen else { throw CLIError("\(config): 'failover' needs 'listen'") }
        var secondPath: DirectorService.Configuration.SecondPath?
        if let udp = failover.udpHeartbeat {
            do {
                let key = try Array(Data(contentsOf: URL(fileURLWithPath: udp.keyFile)))
                secondPath = DirectorService.Configuration.SecondPath(
                    listen: try SocketAddress(ipAddress: udp.listen.address.description, port: Int(udp.listen.port)),
                    peers: try udp.peers.sorted { $0.key < $1.key }.map { name, endpoint in
                        UDPHeartbeats.Peer(
                            name: name,
                            address: try SocketAddress(
                                ipAddress: endpoint.address.description,
                                port: Int(endpoint.port)
                            )
                        )
                    },
                    codec: try HeartbeatDatagram(key: key)
                )
            } catch {
                throw CLIError("\(config): failover.udp_heartbeat: \(error)")
            }
        }
        return DirectorService(
            configuration: DirectorService.Configuration(
                session: sessionConfiguration(peering),
                election: election,
                peers: peers(peering),
                listen: (listen.address.description, Int(listen.port)),
                announceCount: failover.announceCount,
                announceInterval: .milliseconds(failover.announceIntervalMilliseconds),
                statsInterval: peering.statsIntervalSeconds > 0 ? .seconds(peering.statsIntervalSeconds) : nil,
                healthChecks: checks,
                secondPath: secondPath
            ),
            tls: tls,
            director: director,
            hooks: failover.notify.map {
                NotifyHooks(command: $0.command, timeout: .milliseconds($0.timeoutMilliseconds), logger: logger)
            },
            logger: logger
        )
    }

    /// A director whose role the configuration fixes (`sync.role`): mirroring only, no election, no VIPs.
    private func fixedRole(
        peering: PeeringConfig,
        tls: PeerTLS,
        ipvs: NetlinkIPVS,
        daemons: KernelSyncDaemons,
        maximumMessage: Int,
        logger: Logger
    ) throws -> MirroringService {
        let sync = peering.sync
        let role: MirroringService.Role
        do {
            switch sync.role ?? .standby {
            case .active:
                try daemons.run(.master)
                let source = SyncSource(
                    syncID: sync.syncID,
                    maximumMessageLength: maximumMessage,
                    logCapacityBytes: sync.logBytes,
                    table: Self.bootstrapTable(ipvs: ipvs, logger: logger)
                )
                role = .active(
                    source,
                    capture: try PacketCaptureSource(interface: sync.interface, group: sync.group, port: sync.port)
                )
            case .standby:
                try daemons.run(.backup)
                let injection = try MulticastInjection(interface: sync.interface, group: sync.group, port: sync.port)
                role = .standby(SyncSink(injector: injection, maximumMessageLength: maximumMessage))
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(error)")
        }
        return MirroringService(
            configuration: MirroringService.Configuration(
                session: sessionConfiguration(peering),
                peers: peers(peering),
                listen: peering.listen.map { ($0.address.description, Int($0.port)) },
                statsInterval: peering.statsIntervalSeconds > 0 ? .seconds(peering.statsIntervalSeconds) : nil
            ),
            tls: tls,
            role: role,
            logger: logger
        )
    }

    private func peers(_ peering: PeeringConfig) -> [MirroringService.Peer] {
        peering.peers.map {
            MirroringService.Peer(name: $0.name, host: $0.address.address.description, port: Int($0.address.port))
        }
    }

    private func loadConfig() throws -> (LVSyncConfig, PeeringConfig) {
        let text: String
        do {
            text = try String(contentsOfFile: config, encoding: .utf8)
        } catch {
            throw CLIError("\(config): cannot read: \(error.localizedDescription)")
        }
        let file: LVSyncConfig
        do {
            file = try LVSyncConfig(yaml: text, file: config)
        } catch {
            throw CLIError(error.description)
        }
        guard let peering = file.peering else {
            throw CLIError(
                "\(config): the daemon needs 'node', 'peers', 'tls' and 'sync' (see examples/director-a.yaml)"
            )
        }
        return (file, peering)
    }

    /// Converges the kernel's services to the config's, when it declares any.
    private func converge(_ services: [DesiredService], ipvs: NetlinkIPVS, logger: Logger) throws {
        guard !services.isEmpty else { return }
        do {
            let changes = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: services)
            try IPVSPlanner.apply(changes, to: ipvs)
            logger.info(
                "IPVS services converged",
                metadata: ["changes": "\(changes.count)", "services": "\(services.count)"]
            )
        } catch {
            throw CLIError(error.description)
        }
    }

    /// The mirror table seeded from `/proc/net/ip_vs_conn`: what the kernel already holds when lvsync starts late.
    private static func bootstrapTable(ipvs: NetlinkIPVS, logger: Logger) -> MirrorTable {
        var table = MirrorTable()
        do {
            let outcome = try KernelBootstrap.seed(&table, ipvs: ipvs, now: MirrorClock().now)
            logger.info(
                "mirror table seeded from /proc/net/ip_vs_conn",
                metadata: [
                    "connections": "\(outcome.seeded)", "unusable": "\(outcome.unusable)",
                    "unparsed": "\(outcome.problems)",
                ]
            )
        } catch {
            logger.warning("cannot seed the mirror table from /proc/net/ip_vs_conn", metadata: ["error": "\(error)"])
        }
        return table
    }
}

/// The session settings a configuration gives.
func sessionConfiguration(_ peering: PeeringConfig) -> SessionConfiguration {
    SessionConfiguration(
        node: peering.node,
        syncID: peering.sync.syncID,
        heartbeatInterval: .milliseconds(Int64(peering.heartbeatMilliseconds)),
        deadInterval: .milliseconds(Int64(peering.deadMilliseconds))
    )
}
