import Config
import Control
import Failover
import Foundation
import IPVS
import Logging
import Metrics
import Mirror
import NIOCore
import PeerTransport
import Prometheus
import ServiceLifecycle
import SyncWire

/// The lvsync daemon: one director, built from a parsed configuration file on a ``DaemonHost``, as one service.
///
/// Building it (``init(file:path:host:registry:logger:)``) touches neither the kernel nor the network: it loads the
/// TLS identity and makes the parts. ``run()`` then, in this order: binds the metrics endpoint and, for an elected
/// director, the control socket (a second daemon stops here, before it touches the kernel); converges the kernel's
/// IPVS services and sysctls; prepares the sync interface and the way into the kernel backup daemon; and runs the
/// parts as one service group, which a graceful shutdown stops in reverse order (the director first: its VIPs go
/// and its peers are told):
///
/// | service | what it does |
/// | --- | --- |
/// | control socket | `lvsync status`, `stats`, `conns`, `drill` (elected directors and cluster members) |
/// | metrics endpoint | Prometheus text on `metrics.listen` |
/// | reload | `SIGHUP`: the file read again and applied, the TLS files for new peer links included |
/// | certificate expiry | the TLS certificates' time left: a gauge, warnings from 30 days left (hourly check) |
/// | systemd | `READY=1`, the status line, the watchdog |
/// | health | the real servers' checks |
/// | role follower | the IPVS services follow the role |
/// | director | the election, the peer links, capture or injection, the VIPs |
///
/// The kernel's IPVS services have one writer, the ``IPVSReconciler``: the start, a reload, a health verdict and a
/// role change only ask it to converge.
public struct LVSyncDaemon: Service {
    /// The file as read at start.
    public let file: LVSyncConfig
    /// Where it was read from (reloads read it again).
    public let path: String
    /// The peering settings (node, peers, TLS, sync, failover).
    public let peering: PeeringConfig
    /// The director: its role, its links, its mirror.
    public let director: DirectorService
    /// The real servers' verdicts.
    public let health: HealthMonitor
    /// The one writer of the kernel's IPVS services.
    public let services: IPVSReconciler
    /// What the control socket answers (an elected director or a cluster member only).
    public let control: DirectorControl?
    /// The statistics the metrics endpoint serves (every director, elected or of a fixed role).
    let statistics: DirectorControl
    /// The TLS material new peer links use (a reload replaces it).
    public let tls: PeerTLSStore
    /// The TLS certificates' time left.
    public let expiry: CertificateExpiryMonitor
    let roster: HealthRoster
    let host: DaemonHost
    let registry: PrometheusCollectorRegistry
    let notifier: SystemdNotifier
    let logger: Logger

    /// Reads and parses the configuration file at `path`.
    /// - Throws: ``DaemonError`` naming the file and what is wrong in it.
    public static func load(path: String) throws(DaemonError) -> LVSyncConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DaemonError("\(path): cannot read: \(error.localizedDescription)")
        }
        do {
            return try LVSyncConfig(yaml: text, file: path)
        } catch {
            throw DaemonError(error.description)
        }
    }

    /// A daemon for `file` (read from `path`) on `host`; its statistics are also kept in `registry` (which the
    /// metrics endpoint serves). `clock` is the wall clock the TLS certificates are checked against.
    /// - Throws: ``DaemonError`` naming what cannot be used: no peering section, the TLS files, a node name the
    ///   certificate does not prove, the failover settings.
    public init(
        file: LVSyncConfig,
        path: String,
        host: DaemonHost,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) throws(DaemonError) {
        guard let peering = file.peering else {
            throw DaemonError(
                "\(path): the daemon needs 'node', 'peers', 'tls' and 'sync' (see examples/director-a.yaml)"
            )
        }
        do {
            tls = PeerTLSStore(try TLSMaterial.load(peering.tls, node: peering.node, now: clock()))
        } catch {
            throw DaemonError("\(path): \(error)")
        }
        expiry = CertificateExpiryMonitor(store: tls, clock: clock, logger: logger)
        var configuration: DirectorService.Configuration
        do {
            configuration = try DirectorService.Configuration(peering, host: host)
        } catch {
            throw DaemonError("\(path): \(error)")
        }
        let audit = file.kernel.auditIntervalSeconds
        configuration.kernelAudit?.interval = audit > 0 ? .seconds(audit) : nil
        let sync = peering.sync
        let ports = Director.Ports(
            kernel: KernelSyncDaemons(ipvs: host.ipvs, sync: sync, logger: logger),
            addresses: host.addresses,
            announcer: host.announcer,
            routes: host.routes,
            openCapture: { try host.openCapture(sync) },
            openInjector: { try host.openInjector(sync) },
            kernelTable: { Self.seededTable(host, capacity: sync.tableConnections, logger: logger) },
            ownKernelTable: {
                Self.seededTable(host, capacity: sync.tableConnections, ownOnly: true, logger: logger)
            },
            prepareSyncInterface: { try host.prepareSyncInterface(sync) },
            syncInterfaceIndex: { host.syncInterfaceIndex(sync) }
        )
        director = DirectorService(
            configuration: configuration,
            tls: tls,
            clock: clock,
            director: Director(ports: ports, settings: Director.Settings(peering), logger: logger),
            hooks: peering.failover?.notify.map {
                NotifyHooks(command: $0.command, timeout: .milliseconds($0.timeoutMilliseconds), logger: logger)
            },
            logger: logger
        )
        health = HealthMonitor()
        services = IPVSReconciler(ipvs: host.ipvs, file: file, monitor: health, logger: logger)
        let connectionTable = host.connectionTable
        let ipvs = host.ipvs
        statistics = DirectorControl(
            service: director,
            health: health,
            scheduling: { try? SchedulingFingerprint(IPVSPlanner.current(of: ipvs)) },
            ownKernelConnections: {
                guard let connectionTable else { return [] }
                return KernelBootstrap.readConnections(from: connectionTable, ipvs: ipvs, ownOnly: true) ?? []
            },
            inboundPackets: {
                guard let services = try? ipvs.services() else { return nil }
                return services.reduce(0) { $0 &+ $1.statistics.inPackets }
            }
        ) {
            guard let connectionTable else { return [] }
            return KernelBootstrap.connections(from: connectionTable, ipvs: ipvs)
        }
        control = peering.failover != nil || peering.cluster != nil ? statistics : nil
        roster = HealthRoster(file.health.checks)
        notifier = SystemdNotifier(environment: environment)
        (self.file, self.path, self.peering, self.host, self.registry, self.logger) =
            (file, path, peering, host, registry, logger)
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "lvsync",
                metricName: "build",
                unitName: "info",
                helpText: "1; the labels say which lvsync this is"
            ),
            labels: [("version", BuildInfo.version), ("revision", BuildInfo.revision)]
        ).set(to: 1)
    }

    public func run() async throws {
        let listeners = try await bindListeners()
        try prepareKernel()
        logger.info(
            "lvsync starts",
            metadata: [
                "node": "\(peering.node)",
                "role": "\(peering.cluster != nil ? "cluster" : peering.sync.role?.rawValue ?? "elected")",
                "config": "\(path)",
                "version": "\(BuildInfo.version)", "revision": "\(BuildInfo.revision)",
            ]
        )
        let parts: [any Service] =
            listeners + [
                ReloadService(reloader: reloader, notifier: notifier),
                expiry,
                SystemdService(notifier: notifier, isReady: isReady, status: systemdStatus, logger: logger),
                HealthService(roster: roster, monitor: health, logger: logger) { [services] _ in
                    services.reconcileLogging(.health)
                },
                RoleFollower(director: director.director, reconciler: services),
                director,
            ]
        // Whatever part ends — an error or a part that must not end — the group stops in order, as on SIGTERM: the
        // director first (its VIPs go, its peers hear `stopped`, its kernel daemons stop), then the rest; the
        // part's error is then the daemon's.
        var configuration = ServiceGroupConfiguration(
            services: parts.map {
                .init(
                    service: $0,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            },
            logger: logger
        )
        // A part that does not stop when asked is cancelled (systemd's TimeoutStopSec= is the last word).
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch is CancellationError where Task.isShuttingDownGracefully {
            // A part cancelled by the graceful shutdown it was asked for: the normal end, not an error.
        } catch is CancellationError where Task.isCancelled {
            throw CancellationError()
        } catch {
            logger.critical("lvsync stops on an error", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("lvsync stopped")
    }

    // MARK: - Starting

    /// The metrics endpoint and the control socket, bound first: an address or a socket in use stops the daemon
    /// before it touches the kernel.
    private func bindListeners() async throws(DaemonError) -> [any Service] {
        var listeners: [any Service] = []
        if let control {
            do {
                let server = try await ControlServer.bind(
                    path: peering.controlSocket ?? ControlServer.defaultSocketPath,
                    responder: control,
                    logger: logger
                )
                listeners.append(ControlService(server: server))
            } catch {
                throw DaemonError(error.description)
            }
        }
        if let listen = peering.metricsListen {
            let stats = StatsMetrics(registry: registry)
            let process = ProcessMetrics(registry: registry)
            let kernel = IPVSMetrics(registry: registry, ipvs: host.ipvs, logger: logger)
            let statistics = statistics
            let endpoint = try await MetricsEndpoint.bind(
                host: listen.address.description,
                port: Int(listen.port),
                registry: registry,
                refresh: {
                    stats.update(from: statistics.currentStats())
                    process.update()
                    kernel.update()
                },
                limits: MetricsEndpoint.Limits(
                    connections: peering.limits.metricsConnections,
                    idleTimeout: .milliseconds(Int64(peering.limits.metricsIdleTimeoutMilliseconds))
                ),
                logger: logger
            )
            listeners.append(MetricsService(endpoint: endpoint))
        }
        return listeners
    }

    /// The kernel as the file wants it before the director starts: the IPVS services and sysctls, the sync interface,
    /// the way into the backup daemon.
    private func prepareKernel() throws(DaemonError) {
        do {
            try services.reconcile(.start)
        } catch {
            throw DaemonError(error.description)
        }
        do {
            try KernelTunables.apply(file.kernel, to: host.ipvs, logger: logger)
        } catch {
            throw DaemonError("\(path): kernel: \(error)")
        }
        for advice in file.advice { logger.warning("configuration advice", metadata: ["advice": "\(advice)"]) }
        let sync = peering.sync
        do {
            director.director.noteSyncInterface(index: try host.prepareSyncInterface(sync))
            if peering.failover != nil {
                try director.director.prepare()
                // Before the boot wait: VIPs an earlier run left (a SIGKILL) must not answer beside the peer's.
                director.director.removeLeftoverVIPs()
            }
        } catch {
            throw DaemonError("sync interface \(sync.interface): \(error)")
        }
    }

    // MARK: - The parts' wiring

    /// `SIGHUP`: the file read again; its TLS files for new peer links, its services to the reconciler, its checks to
    /// the health service.
    public var reloader: ConfigReloader {
        let (roster, health, services, logger) = (roster, health, services, logger)
        let (tls, expiry, node, clock) = (tls, expiry, peering.node, expiry.clock)
        return ConfigReloader(
            path: path,
            running: peering,
            ipvs: host.ipvs,
            services: services,
            logger: logger,
            prepareTLS: { new throws(DaemonError) in
                guard let files = new.peering?.tls else { return nil }
                let material = try TLSMaterial.load(files, node: node, now: clock())
                return {
                    tls.replace(with: material)
                    logger.notice(
                        "TLS material reloaded: new peer links use it",
                        metadata: [
                            "certificate": "\(files.certificate)",
                            "not_after": "\(material.identity.notValidAfter.formatted(.iso8601))",
                        ]
                    )
                    expiry.check()
                }
            }
        ) { new in
            let checks = HealthService.reload(new.health.checks, roster: roster, monitor: health)
            if !checks.added.isEmpty || !checks.removed.isEmpty {
                logger.notice(
                    "health checks reloaded",
                    metadata: [
                        "added": "\(checks.added.count)", "removed": "\(checks.removed.count)",
                        "kept": "\(checks.kept)",
                    ]
                )
                // Servers whose check went away are no longer held down.
                services.reconcileLogging(.health)
            }
        }
    }

    /// Ready once an elected director has decided its role (a fixed role is ready at once).
    private var isReady: @Sendable () -> Bool {
        let director = director.director
        let elected = peering.failover != nil
        return { !elected || director.role != .initialising }
    }

    /// systemd's status line: the role, the peers linked, the mirror's size.
    private var systemdStatus: @Sendable () -> String {
        let service = director
        guard peering.failover != nil else {
            let role = peering.sync.role?.rawValue ?? "running"
            return { role }
        }
        return {
            let director = service.director
            let peers = director.peers.keys.sorted().filter { service.relay.isLinked(to: $0) }
            return "\(director.role), peers linked: \(peers.isEmpty ? "none" : peers.joined(separator: ", ")), "
                + "mirror \(director.tableFigures.size) connections"
        }
    }

    /// The mirror table seeded from the kernel's connection table: what the kernel already holds when lvsync starts
    /// late (`ownOnly`: what its own traffic made, for a cluster member), sized for `capacity` connections.
    static func seededTable(
        _ host: DaemonHost,
        capacity: Int = 0,
        ownOnly: Bool = false,
        logger: Logger
    ) -> MirrorTable {
        var table = MirrorTable(minimumCapacity: capacity)
        guard let path = host.connectionTable else { return table }
        do {
            let outcome = try KernelBootstrap.seed(
                &table,
                from: path,
                ipvs: host.ipvs,
                now: MirrorClock().now,
                ownOnly: ownOnly
            )
            logger.info(
                ownOnly ? "mirror table seeded from \(path), own connections only" : "mirror table seeded from \(path)",
                metadata: [
                    "connections": "\(outcome.seeded)", "unusable": "\(outcome.unusable)",
                    "unparsed": "\(outcome.problems)",
                ]
            )
        } catch {
            logger.warning("cannot seed the mirror table from \(path)", metadata: ["error": "\(error)"])
        }
        return table
    }
}

extension LVSyncDaemon {
    /// The swift-metrics backend the executable bootstraps when the file asks for a metrics endpoint: every counter,
    /// gauge and timer lands in `registry`, the sync lag with buckets from 100 µs to 5 s.
    public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["lvsync_sync_lag_seconds"] = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        ]
        return factory
    }

    /// The log handler `lvsync run --log-format` names: `text` (key=value, laid out as swift-log's
    /// `StreamLogHandler`) or `json` (one object per line). Both write through ``LogOutput/standardError``: never
    /// blocking, never fatal, with the journal's priority prefix when standard error is the journal.
    public static func logHandler(format: String, level: Logger.Level) -> (@Sendable (String) -> any LogHandler)? {
        switch format {
        case "text":
            return { label in
                var handler = TextLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case "json":
            return { label in
                var handler = JSONLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        default: return nil
        }
    }
}
