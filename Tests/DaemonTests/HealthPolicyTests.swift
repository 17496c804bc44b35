import Config
import Control
import Daemon
import Foundation
import Health
import IPVS
import LVSyncTestSupport
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SyncWire
import Synchronization
import Testing

@Suite("Health in the daemon: the policy (pure) and the service against a real listener")
struct HealthPolicyTests {
    static let yaml = """
        virtual_services:
          - protocol: tcp
            address: 10.0.0.100
            port: 80
            scheduler: wrr
            sorry_server: { address: 10.0.0.99, port: 8080, forwarding: nat }
            real_servers:
              - address: 10.0.0.21
                weight: 2
                check: { type: http, path: /health, status: [200, 204], fall: 2 }
              - address: 10.0.0.22
                weight: 3
                on_failure: remove
                check: { type: tcp, interval_ms: 500, timeout_ms: 200 }
          - protocol: udp
            address: 10.0.0.100
            port: 53
            real_servers:
              - address: 10.0.0.21
                check: { type: dns, name: example.com, record: AAAA }
              - address: 10.0.0.22
        """

    static func config() throws -> LVSyncConfig { try LVSyncConfig(yaml: yaml, file: "h.yaml") }

    static func ref(_ service: Int, _ server: String, _ config: LVSyncConfig) -> ServerRef {
        let desired = config.virtualServices[service]
        let endpoint = desired.realServers.first { "\($0.endpoint.address)" == server }!.endpoint
        return ServerRef(service: desired.service.key, server: endpoint)
    }

    @Test("the checks as the configuration declares them")
    func parsed() throws {
        let config = try Self.config()
        #expect(config.health.checks.count == 3)
        let http = config.health.checks[0]
        #expect(http.probe == .http(path: "/health", host: nil, statuses: [200, 204], bodySHA256: nil, tls: false))
        #expect(http.fall == 2 && http.rise == 2 && http.intervalMilliseconds == 2000 && http.onFailure == .quiesce)
        #expect("\(http.target)" == "10.0.0.21:80")
        #expect(config.health.checks[1].onFailure == .remove && config.health.checks[1].timeoutMilliseconds == 200)
        #expect(config.health.checks[2].probe == .dns(name: "example.com", type: 28))
        #expect(config.health.sorryServers.count == 1)
    }

    @Test("a check's errors name the key and the line")
    func errors() throws {
        func error(_ check: String) -> String {
            let text = """
                virtual_services:
                  - protocol: tcp
                    address: 10.0.0.100
                    port: 80
                    real_servers:
                      - address: 10.0.0.21
                        check: \(check)
                """
            do {
                _ = try LVSyncConfig(yaml: text, file: "e.yaml")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(error("{ type: ping }").contains("e.yaml:7:"))
        #expect(error("{ type: tcp, path: /x }").contains("'path' is not a setting of a tcp check"))
        #expect(error("{ type: http, path: health }").contains("an HTTP path starts with /"))
        #expect(error("{ type: command, command: [check.sh] }").contains("absolute path"))
        #expect(error("{ type: http, body_sha256: abc }").contains("64 hexadecimal digits"))
        #expect(error("{ type: tcp, fall: 0 }").contains("fall"))
    }

    @Test("down servers: quiesced (weight 0) or removed per config, the sorry server once none is left, back when up")
    func policy() throws {
        let config = try Self.config()
        let a = Self.ref(0, "10.0.0.21", config)
        let b = Self.ref(0, "10.0.0.22", config)
        let dns = Self.ref(1, "10.0.0.21", config)
        func weights(_ down: Set<ServerRef>, service: Int = 0) -> [String: Int32] {
            let desired = HealthPolicy.desired(config.virtualServices, health: config.health, down: down)[service]
            return Dictionary(uniqueKeysWithValues: desired.realServers.map { ("\($0.endpoint)", $0.weight) })
        }
        #expect(weights([]) == ["10.0.0.21:80": 2, "10.0.0.22:80": 3])
        #expect(weights([a]) == ["10.0.0.21:80": 0, "10.0.0.22:80": 3])
        #expect(weights([b]) == ["10.0.0.21:80": 2], "on_failure: remove")
        #expect(weights([a, b]) == ["10.0.0.21:80": 0, "10.0.0.99:8080": 1], "the sorry server while none is left")
        #expect(weights([dns], service: 1) == ["10.0.0.21:53": 0, "10.0.0.22:53": 1])
        // Converged by the planner: a quiesce is an edit in place (connections stay), not a removal.
        let current = HealthPolicy.desired(config.virtualServices, health: config.health, down: [])
        let changes = IPVSPlanner.plan(
            current: current,
            desired: HealthPolicy.desired(config.virtualServices, health: config.health, down: [a])
        )
        #expect(changes.count == 1)
        #expect("\(changes)".contains("10.0.0.21"))
    }

    @Test("a server back from down ramps up: its weight is the share of the ramp that passed, at least 1")
    func rampUp() throws {
        let config = try Self.config()
        let b = Self.ref(0, "10.0.0.22", config)
        func weight(_ share: Double?) -> Int32? {
            let ramping = share.map { [b: $0] } ?? [:]
            return HealthPolicy.desired(config.virtualServices, health: config.health, down: [], ramping: ramping)[0]
                .realServers.first { $0.endpoint == b.server }?.weight
        }
        #expect(weight(0) == 1)
        #expect(weight(0.5) == 2)
        #expect(weight(0.9) == 3)
        #expect(weight(1) == 3)
        #expect(weight(nil) == 3)
    }

    @Test("the service: a listener that goes away is found down after fall failures, and up again after rise")
    func service() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        var listener: (any Channel)? = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = try #require(listener?.localAddress?.port)
        let key = ServiceKey.address(.tcp, Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 80))
        let server = Endpoint(.v4(IPv4Address(127, 0, 0, 1)), UInt16(port))
        let check = HealthConfig.RealServerCheck(
            service: key,
            server: server,
            probe: .tcp,
            target: server,
            source: nil,
            intervalMilliseconds: 30,
            timeoutMilliseconds: 200,
            rise: 2,
            fall: 2,
            onFailure: .quiesce
        )
        let monitor = HealthMonitor()
        let seen = Mutex<[Set<ServerRef>]>([])
        let service = HealthService(checks: [check], monitor: monitor, logger: Logger(label: "health-test")) { down in
            seen.withLock { $0.append(down) }
        }
        let ref = ServerRef(service: key, server: server)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [service], logger: Logger(label: "health-test"))
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            #expect(await eventually(limit: .seconds(30)) { monitor.verdicts[ref]?.status == .up })
            try await listener?.close()
            listener = nil
            #expect(await eventually(limit: .seconds(30)) { monitor.down == [ref] })
            #expect(monitor.verdicts[ref]?.reason.contains("refused") == true)
            #expect(seen.withLock { $0.last } == [ref])
            #expect(monitor.statsFields["health.servers_down"] == 1)
            // Back on the same port.
            listener = try ServerBootstrap(group: group).serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: "127.0.0.1", port: port).wait()
            #expect(await eventually(limit: .seconds(30)) { monitor.verdicts[ref]?.status == .up })
            #expect(seen.withLock { $0.last } == [])
            // Back from down: it ramps (a 10 s ramp has just begun); a server without a ramp does not.
            #expect(monitor.ramping([ref: .seconds(10)])[ref].map { $0 >= 0 && $0 < 0.5 } == true)
            #expect(monitor.ramping([:]).isEmpty)
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await listener?.close()
    }
}
