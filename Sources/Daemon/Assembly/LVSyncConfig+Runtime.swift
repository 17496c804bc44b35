import Config
import Failover
import Foundation
import HostNetwork
import IPVS
import NIOCore
import PeerProtocol
import PeerTransport
import SyncWire

// The configuration file's settings as the runtime types the daemon is made of: one mapping, beside those types.

extension SessionConfiguration {
    /// The session settings a configuration gives: the node, the sync ID, the link's timers.
    public init(_ peering: PeeringConfig) {
        self.init(
            node: peering.node,
            syncID: peering.sync.syncID,
            heartbeatInterval: .milliseconds(Int64(peering.heartbeatMilliseconds)),
            deadInterval: .milliseconds(Int64(peering.deadMilliseconds))
        )
    }
}

extension ElectionConfiguration {
    /// The election a configuration's `failover` section describes.
    /// - Throws: ``DaemonError`` naming the section and what the election refuses.
    public init(_ peering: PeeringConfig, failover: FailoverConfig) throws(DaemonError) {
        do {
            try self.init(
                node: peering.node,
                priority: Int(peering.priority),
                preempt: failover.preempt,
                preemptDelay: .milliseconds(failover.preemptDelayMilliseconds),
                heartbeatInterval: .milliseconds(peering.heartbeatMilliseconds),
                deadInterval: .milliseconds(peering.deadMilliseconds),
                bootWait: .milliseconds(failover.bootWaitMilliseconds),
                udpDetectionTime: failover.udpHeartbeat.map { .milliseconds($0.detectionMilliseconds) },
                healthConditions: Dictionary(
                    failover.health.map { health in
                        (
                            HealthCondition(health.condition),
                            health.lowerPriorityBy.map { HealthResponse.lowerPriority(by: $0) } ?? .fault
                        )
                    },
                    uniquingKeysWith: { first, _ in first }
                ).merging([HealthCondition(DirectorService.kernelSyncCondition): .fault]) { configured, _ in configured
                }
            )
        } catch {
            throw DaemonError("failover: \(error)")
        }
    }
}

extension DirectorService.Configuration {
    /// The director service a configuration describes, on `host` (whose interfaces the health conditions watch).
    /// - Throws: ``DaemonError`` naming the setting that cannot be used.
    public init(_ peering: PeeringConfig, host: DaemonHost) throws(DaemonError) {
        let role: DirectorService.Role
        var announceCount = 3
        var announceInterval = Duration.milliseconds(100)
        var checks: [String: DirectorService.Configuration.Condition] = [:]
        var secondPath: SecondPath?
        if let failover = peering.failover {
            guard peering.listen != nil else { throw DaemonError("'failover' needs 'listen'") }
            role = .elected(try ElectionConfiguration(peering, failover: failover))
            announceCount = failover.announceCount
            announceInterval = .milliseconds(failover.announceIntervalMilliseconds)
            checks = Self.conditions(failover, sync: peering.sync, host: host)
            secondPath = try failover.udpHeartbeat.map { udp throws(DaemonError) in try SecondPath(udp) }
        } else if peering.cluster != nil {
            guard peering.listen != nil else { throw DaemonError("'cluster' needs 'listen'") }
            role = .cluster
        } else {
            role = .fixed(peering.sync.role ?? .standby)
        }
        self.init(
            session: SessionConfiguration(peering),
            role: role,
            peers: peering.peers.map {
                DirectorService.Peer(name: $0.name, host: $0.address.address.description, port: Int($0.address.port))
            },
            listen: peering.listen.map { ($0.address.description, Int($0.port)) },
            announceCount: announceCount,
            announceInterval: announceInterval,
            statsInterval: peering.statsIntervalSeconds > 0 ? .seconds(peering.statsIntervalSeconds) : nil,
            healthChecks: checks,
            secondPath: secondPath
        )
        if let path = host.connectionTable {
            let ipvs = host.ipvs
            kernelAudit = KernelAuditSettings(
                interval: .seconds(15),
                readTable: { KernelBootstrap.readTable(path) },
                // A cluster member takes in only what its own traffic made: the others' entries are theirs.
                readConnections: { [own = peering.cluster != nil] in
                    KernelBootstrap.readConnections(from: path, ipvs: ipvs, ownOnly: own)
                },
                countConnections: { try? ipvs.connectionCount().total }
            )
        }
        if let settings = peering.cluster?.announce {
            announce = DirectorService.AnnounceSettings(
                wait: .milliseconds(settings.waitMilliseconds),
                drain: .milliseconds(settings.drainMilliseconds),
                frr: settings.frr.map { FRRVty(directory: $0) }
            )
        }
        if let refresh = peering.failover?.announceRefreshMilliseconds, refresh > 0 {
            announceRefresh = .milliseconds(refresh)
        }
        admission = ConnectionAdmission.Limits(
            pending: peering.limits.pendingConnections,
            pendingPerSource: peering.limits.pendingPerSource,
            deadline: .milliseconds(Int64(peering.limits.helloTimeoutMilliseconds))
        )
    }

    /// The failover health conditions as readings of the host. `ipvs` fails after three failed answers in a row
    /// (one lost netlink answer is not a fault); an interface fails at the first reading that finds it down or
    /// missing. A reading that fails for the director's own trouble (no descriptor, no memory) is unknown.
    static func conditions(
        _ failover: FailoverConfig,
        sync: PeeringConfig.Sync,
        host: DaemonHost
    ) -> [String: DirectorService.Configuration.Condition] {
        var checks: [String: DirectorService.Configuration.Condition] = [:]
        let (ipvs, interfaceState) = (host.ipvs, host.interfaceIsUp)
        func interface(_ name: String) -> DirectorService.Configuration.Condition {
            .init {
                switch interfaceState(name) {
                case .success(true): .holds
                case .success(false): .fails("\(name) is down, missing or without carrier")
                case .failure(let error): error.ownTrouble ? .unknown("\(error)") : .fails("\(error)")
                }
            }
        }
        for health in failover.health {
            switch health.condition {
            case "ipvs":
                checks[health.condition] = .init(failuresToFail: 3) {
                    do throws(IPVSError) {
                        _ = try ipvs.info()
                        return .holds
                    } catch {
                        if let errno = error.errno, ConditionReading.isOwnTrouble(errno: errno) {
                            return .unknown("\(error)")
                        }
                        return .fails("\(error)")
                    }
                }
            case "sync-interface":
                checks[health.condition] = interface(sync.interface)
            case DirectorService.kernelSyncCondition:
                continue  // the director's own check of the kernel's sync reads it
            default:
                checks[health.condition] = interface(String(health.condition.dropFirst("interface:".count)))
            }
        }
        return checks
    }
}

extension DirectorService.Configuration.SecondPath {
    /// The second heartbeat path of `failover.udp_heartbeat` (its key read from the key file).
    /// - Throws: ``DaemonError`` naming the section and what cannot be used.
    init(_ udp: FailoverConfig.UDPHeartbeat) throws(DaemonError) {
        do {
            let key = try Array(Data(contentsOf: URL(fileURLWithPath: udp.keyFile)))
            self.init(
                listen: udp.listen,
                peers: udp.peers.sorted { $0.key < $1.key }.map { UDPHeartbeats.Peer(name: $0.key, address: $0.value) },
                codec: try HeartbeatDatagram(key: key),
                interval: .milliseconds(udp.intervalMilliseconds),
                realtimePriority: udp.realtimePriority
            )
        } catch {
            throw DaemonError("failover.udp_heartbeat: \(error)")
        }
    }
}

extension Director.Settings {
    /// The settings a configuration gives the director: sync ID, message size, resume log, VIPs.
    public init(_ peering: PeeringConfig) {
        self.init(
            syncID: peering.sync.syncID,
            maximumMessageLength: Int(
                peering.sync.maximumMessageBytes ?? UInt16(SyncWireLayout.defaultMaximumMessageLength)
            ),
            logCapacityBytes: peering.sync.logBytes,
            vips: peering.failover?.vips ?? peering.cluster?.vips ?? []
        )
        announceTable = peering.cluster?.announce?.table
        tableConnections = peering.sync.tableConnections
    }
}
