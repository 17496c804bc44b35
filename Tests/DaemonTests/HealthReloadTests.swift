import Config
import Daemon
import Health
import IPVS
import LVSyncTestSupport
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SyncWire
import Testing

@Suite("Health checks on a reload: new ones start, removed ones stop and are forgotten, unchanged ones go on")
struct HealthReloadTests {
    static let key = ServiceKey.address(.tcp, Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 80))

    static func check(port: Int, interval: Int = 30) -> HealthConfig.RealServerCheck {
        let server = Endpoint(.v4(IPv4Address(127, 0, 0, 1)), UInt16(port))
        return HealthConfig.RealServerCheck(
            service: key,
            server: server,
            probe: .tcp,
            target: server,
            source: nil,
            intervalMilliseconds: interval,
            timeoutMilliseconds: 200,
            rise: 1,
            fall: 1,
            onFailure: .remove
        )
    }

    static func ref(_ check: HealthConfig.RealServerCheck) -> ServerRef {
        ServerRef(service: check.service, server: check.server)
    }

    @Test("the roster: what a replacement adds, removes and keeps")
    func roster() {
        let a = Self.check(port: 1)
        let b = Self.check(port: 2)
        let roster = HealthRoster([a])
        let first = roster.replace(with: [a, b])
        #expect(first.added == [b] && first.removed.isEmpty && first.kept == 1)
        let changed = Self.check(port: 1, interval: 99)
        let second = roster.replace(with: [changed, b])
        #expect(second.added == [changed] && second.removed == [a] && second.kept == 1)
        #expect(Set(roster.checks) == [changed, b])
        #expect(roster.replace(with: []).removed.count == 2)
    }

    @Test("against real listeners: an added check runs, a removed one is forgotten, a changed one keeps its state")
    func service() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let upListener = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let up = Self.check(port: try #require(upListener.localAddress?.port))
        // A port nobody listens on, kept so for the test (a released port could go to a parallel test's listener).
        let deadPort = try closedPort()
        let dead = Self.check(port: deadPort)
        let monitor = HealthMonitor()
        let roster = HealthRoster([up])
        let service = HealthService(roster: roster, monitor: monitor, logger: Logger(label: "health-test")) { _ in }
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [service], logger: Logger(label: "health-test"))
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            #expect(await eventually(limit: .seconds(30)) { monitor.verdicts[Self.ref(up)]?.status == .up })
            // A reload adds the dead server's check.
            let added = HealthService.reload([up, dead], roster: roster, monitor: monitor)
            #expect(added.added == [dead] && added.kept == 1)
            #expect(await eventually(limit: .seconds(30)) { monitor.down == [Self.ref(dead)] })
            let changesBefore = monitor.changes
            // Its check changes (a longer interval): it stays down, and the new check's first verdict is no change.
            let slower = Self.check(port: deadPort, interval: 60)
            HealthService.reload([up, slower], roster: roster, monitor: monitor)
            #expect(monitor.down == [Self.ref(dead)])
            try await Task.sleep(for: .milliseconds(600))
            #expect(monitor.down == [Self.ref(dead)])
            #expect(monitor.changes == changesBefore)
            // A reload drops it: forgotten at once, and not checked again.
            HealthService.reload([up], roster: roster, monitor: monitor)
            #expect(monitor.down.isEmpty)
            #expect(monitor.verdicts[Self.ref(dead)] == nil)
            try await Task.sleep(for: .milliseconds(300))
            #expect(monitor.verdicts[Self.ref(dead)] == nil)
            #expect(monitor.verdicts[Self.ref(up)]?.status == .up)
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await upListener.close()
    }
}
