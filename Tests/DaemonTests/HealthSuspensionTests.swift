import Config
import Foundation
import Health
import IPVS
import LVSyncTestSupport
import Logging
import ServiceLifecycle
import SyncWire
import Testing

@testable import Daemon

/// The director's own trouble never quiesces every server of a service; real deaths still do.
@Suite("Health suspension: the director's own trouble never empties a service (pure rule and the reconciler)")
struct HealthSuspensionTests {
    static let key = IPVSReconcilerTests.key
    static let first = IPVSReconcilerTests.first
    static let second = ServerRef(service: key, server: Endpoint(.v4(IPv4Address(10, 0, 0, 22)), 80))
    static let services = { try! IPVSReconcilerTests.file(IPVSReconcilerTests.web).virtualServices }()
    static let emfile = "too many open files"

    @Test("the last live servers are not taken down while the director is in trouble")
    func refusesWhileInTrouble() {
        var rule = HealthSuspension()
        #expect(rule.update(Self.services, down: [Self.first], trouble: Self.emfile).isEmpty, "one is left")
        #expect(rule.applicable([Self.first]) == [Self.first])
        let both: Set<ServerRef> = [Self.first, Self.second]
        #expect(rule.update(Self.services, down: both, trouble: Self.emfile) == [.began(Self.key, reason: Self.emfile)])
        #expect(rule.applicable(both).isEmpty, "the service keeps its weights")
        #expect(rule.update(Self.services, down: both, trouble: Self.emfile).isEmpty, "said once")
        // A server back: the verdicts apply again (the other one is quiesced).
        #expect(rule.update(Self.services, down: [Self.second], trouble: Self.emfile) == [.ended(Self.key)])
        #expect(rule.applicable([Self.second]) == [Self.second])
    }

    @Test("servers that are really down are all quiesced; trouble that comes later does not bring them back")
    func realDeaths() {
        var rule = HealthSuspension()
        let both: Set<ServerRef> = [Self.first, Self.second]
        #expect(rule.update(Self.services, down: both, trouble: nil).isEmpty)
        #expect(rule.applicable(both) == both, "every server is quiesced")
        #expect(rule.update(Self.services, down: both, trouble: Self.emfile).isEmpty)
        #expect(rule.applicable(both) == both, "still quiesced: the rule never puts a dead server back")
    }

    @Test("when the trouble is over and the servers are still down, they are quiesced")
    func troubleEnds() {
        var rule = HealthSuspension()
        let both: Set<ServerRef> = [Self.first, Self.second]
        _ = rule.update(Self.services, down: both, trouble: Self.emfile)
        #expect(rule.suspended == [Self.key: Self.emfile])
        #expect(rule.update(Self.services, down: both, trouble: nil) == [.ended(Self.key)])
        #expect(rule.applicable(both) == both)
        #expect(rule.update(Self.services, down: both, trouble: Self.emfile).isEmpty, "really down now")
        #expect(rule.update([], down: [], trouble: nil).isEmpty)
    }

    @Test("the active's reconciler keeps the weights while the monitor says the director cannot probe")
    func reconciler() throws {
        let ipvs = InMemoryIPVS()
        let monitor = HealthMonitor()
        let reconciler = IPVSReconciler(
            ipvs: ipvs,
            file: try IPVSReconcilerTests.file(IPVSReconcilerTests.web),
            monitor: monitor,
            active: true,
            logger: quietLogger
        )
        try reconciler.reconcile(.start)
        #expect(monitor.trouble == nil)
        monitor.noteProbe(Self.first, unknown: Self.emfile)
        #expect(monitor.trouble == Self.emfile)
        IPVSReconcilerTests.down(monitor, Self.first)
        IPVSReconcilerTests.down(monitor, Self.second)
        try reconciler.reconcile(.health)
        #expect(try IPVSReconcilerTests.weight(ipvs, Self.first) == 3)
        #expect(try IPVSReconcilerTests.weight(ipvs, Self.second) == 1)
        #expect(reconciler.suspended == [Self.key: Self.emfile])
        // The director can probe again: the servers are really down, and quiesced.
        #expect(monitor.noteProbe(Self.first, unknown: nil), "the trouble's end is news")
        try reconciler.reconcile(.health)
        #expect(try IPVSReconcilerTests.weight(ipvs, Self.first) == 0)
        #expect(try IPVSReconcilerTests.weight(ipvs, Self.second) == 0)
        #expect(reconciler.suspended.isEmpty)
    }

    @Test("a check the director cannot probe from (its source address is not on this host) never takes its server down")
    func ownErrnoNeverDown() async throws {
        let key = Self.key
        // Nothing listens there: a probe that got out would be refused. It never gets out: binding to a source
        // address this host does not have fails with EADDRNOTAVAIL, the director's own trouble.
        let server = Endpoint(.v4(IPv4Address(127, 0, 0, 1)), UInt16(try freePorts(1)[0]))
        let check = HealthConfig.RealServerCheck(
            service: key,
            server: server,
            probe: .tcp,
            target: server,
            source: .v4(IPv4Address(192, 0, 2, 1)),
            intervalMilliseconds: 20,
            timeoutMilliseconds: 500,
            rise: 1,
            fall: 1,
            onFailure: .quiesce
        )
        let monitor = HealthMonitor()
        let handler = CapturingLogHandler()
        let logger = Logger(label: "health-test") { _ in handler }
        let service = HealthService(checks: [check], monitor: monitor, logger: logger) { _ in }
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [service], logger: Logger(label: "health-test"))
        )
        let unknownLines = { handler.lines.filter { $0.message.hasPrefix("health: a probe could not be made") } }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            // Three probes in a row have finished (fall is 1: the first failure would have taken it down).
            #expect(await eventually(limit: .seconds(30)) { unknownLines().count >= 3 })
            #expect(monitor.down.isEmpty)
            #expect(monitor.verdicts.isEmpty, "no verdict at all: nothing was learnt of the server")
            #expect(monitor.trouble?.hasPrefix("no route from its source") == true)
            #expect(unknownLines().first?.metadata["reason"]?.hasPrefix("no route from its source") == true)
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
