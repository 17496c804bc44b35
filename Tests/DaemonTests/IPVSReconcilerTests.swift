import Config
import Dispatch
import Foundation
import Health
import IPVS
import LVSyncTestSupport
import SyncWire
import Synchronization
import Testing

@testable import Daemon

/// The kernel's IPVS services as a function of the running file, the health verdicts and the role, with one writer.
@Suite("The IPVS reconciler: the file, the verdicts and the role decide; one writer")
struct IPVSReconcilerTests {
    static let web = """
        virtual_services:
          - protocol: tcp
            address: 10.0.0.100
            port: 80
            scheduler: wrr
            real_servers:
              - { address: 10.0.0.21, forwarding: dr, weight: 3, check: { type: tcp } }
              - { address: 10.0.0.22, forwarding: dr, weight: 1, check: { type: tcp } }

        """
    static let dns = """
          - protocol: udp
            address: 10.0.0.100
            port: 53
            scheduler: rr
            real_servers:
              - { address: 10.0.0.21, forwarding: nat }

        """
    static let key = ServiceKey.address(.tcp, Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 80))
    static let first = ServerRef(service: key, server: Endpoint(.v4(IPv4Address(10, 0, 0, 21)), 80))

    static func file(_ yaml: String) throws -> LVSyncConfig { try LVSyncConfig(yaml: yaml, file: "test.yaml") }

    static func down(_ monitor: HealthMonitor, _ server: ServerRef) {
        monitor.record(
            server,
            HealthMonitor.Verdict(status: .down, reason: "refused", check: "tcp", since: .now, latency: .zero)
        )
    }

    /// The weight the kernel gives `server` now (nil: not there).
    static func weight(_ ipvs: some IPVSControl, _ server: ServerRef) throws -> Int32? {
        try ipvs.realServers(of: server.service).first { $0.server.endpoint == server.server }?.server.weight
    }

    @Test(
        "a standby holds the file's services as written; the active quiesces a down server; stepping down restores it"
    )
    func roleDecides() throws {
        let ipvs = InMemoryIPVS()
        let monitor = HealthMonitor()
        let reconciler = IPVSReconciler(
            ipvs: ipvs,
            file: try Self.file(Self.web),
            monitor: monitor,
            logger: quietLogger
        )
        #expect(try reconciler.reconcile(.start).count == 3, "one service, two servers")
        Self.down(monitor, Self.first)
        #expect(try reconciler.reconcile(.health).isEmpty, "a standby applies no verdict")
        #expect(try Self.weight(ipvs, Self.first) == 3)
        reconciler.roleChanged(active: true)
        #expect(try Self.weight(ipvs, Self.first) == 0, "the new active quiesces the server its checks found down")
        reconciler.roleChanged(active: false)
        #expect(try Self.weight(ipvs, Self.first) == 3)
        #expect(try reconciler.reconcile(.role).isEmpty, "converged: nothing more to send")
    }

    @Test("a file without virtual services leaves the kernel's services alone")
    func noServices() throws {
        let ipvs = InMemoryIPVS()
        let reconciler = IPVSReconciler(
            ipvs: ipvs,
            file: try Self.file(Self.web),
            monitor: HealthMonitor(),
            logger: quietLogger
        )
        try reconciler.reconcile(.start)
        #expect(try reconciler.replaceFile(with: try Self.file("kernel: { expire_nodest_conn: true }\n")).isEmpty)
        #expect(try ipvs.services().count == 1)
        reconciler.roleChanged(active: true)
        #expect(try ipvs.services().count == 1)
    }

    @Test("a reload the kernel refuses keeps the old file running")
    func refusedReload() throws {
        let unknown = Self.web.replacingOccurrences(of: "scheduler: wrr", with: "scheduler: mh")
        let refusing = InMemoryIPVS(schedulers: ["rr", "wrr"])
        let other = IPVSReconciler(
            ipvs: refusing,
            file: try Self.file(Self.web),
            monitor: HealthMonitor(),
            logger: quietLogger
        )
        try other.reconcile(.start)
        #expect(throws: IPVSError.self) { try other.replaceFile(with: try Self.file(unknown)) }
        #expect(other.file?.virtualServices.first?.service.scheduler == "wrr")
        #expect(try refusing.services().first?.service.scheduler == "wrr")
    }

    @Test("a verdict that changes during a reload is applied to the reload's file: the service it added stays")
    func verdictDuringReload() throws {
        let monitor = HealthMonitor()
        let kernel = InMemoryIPVS()
        let reconcilerBox = Mutex<IPVSReconciler?>(nil)
        let verdictDone = DispatchSemaphore(value: 0)
        // The reload's first kernel write lets a health verdict arrive: it is recorded and its reconciliation asked
        // for from another thread, while the reload still holds the kernel.
        let hook = WriteHook(kernel) {
            Self.down(monitor, Self.first)
            let reconciler = reconcilerBox.withLock { $0 }
            Thread {
                reconciler?.reconcileLogging(.health); verdictDone.signal()
            }.start()
        }
        let reconciler = IPVSReconciler(
            ipvs: hook,
            file: try Self.file(Self.web),
            monitor: monitor,
            active: true,
            logger: quietLogger
        )
        reconcilerBox.withLock { $0 = reconciler }
        try reconciler.reconcile(.start)
        hook.arm()
        try reconciler.replaceFile(with: try Self.file(Self.web + Self.dns))
        verdictDone.wait()
        let services = try kernel.services().map(\.service.key)
        #expect(services.count == 2, "the reload's new service is still there: \(services)")
        #expect(try Self.weight(kernel, Self.first) == 0, "and the verdict is applied")
        #expect(try reconciler.reconcile(.health).isEmpty)
    }
}

/// An IPVS that calls `onWrite` once, at the first change after ``arm()``, then passes everything to the kernel.
final class WriteHook: IPVSControl {
    let kernel: InMemoryIPVS
    let onWrite: @Sendable () -> Void
    private let armed = Atomic(false)

    init(_ kernel: InMemoryIPVS, onWrite: @escaping @Sendable () -> Void) {
        self.kernel = kernel
        self.onWrite = onWrite
    }

    func arm() { armed.store(true, ordering: .sequentiallyConsistent) }

    private func written() {
        if armed.exchange(false, ordering: .sequentiallyConsistent) { onWrite() }
    }

    func info() throws(IPVSError) -> IPVSInfo { try kernel.info() }
    func timeouts() throws(IPVSError) -> IPVSTimeouts { try kernel.timeouts() }
    func setTimeouts(_ timeouts: IPVSTimeouts) throws(IPVSError) { try kernel.setTimeouts(timeouts) }
    func services() throws(IPVSError) -> [ServiceStatus] { try kernel.services() }
    func addService(_ service: VirtualService) throws(IPVSError) {
        written()
        try kernel.addService(service)
    }
    func editService(_ service: VirtualService) throws(IPVSError) {
        written()
        try kernel.editService(service)
    }
    func deleteService(_ key: ServiceKey) throws(IPVSError) {
        written()
        try kernel.deleteService(key)
    }
    func realServers(of key: ServiceKey) throws(IPVSError) -> [RealServerStatus] { try kernel.realServers(of: key) }
    func addRealServer(_ server: RealServer, to key: ServiceKey) throws(IPVSError) {
        written()
        try kernel.addRealServer(server, to: key)
    }
    func editRealServer(_ server: RealServer, in key: ServiceKey) throws(IPVSError) {
        written()
        try kernel.editRealServer(server, in: key)
    }
    func deleteRealServer(_ endpoint: Endpoint, from key: ServiceKey) throws(IPVSError) {
        written()
        try kernel.deleteRealServer(endpoint, from: key)
    }
    func syncDaemons() throws(IPVSError) -> [SyncDaemon] { try kernel.syncDaemons() }
    func startSyncDaemon(_ daemon: SyncDaemon) throws(IPVSError) { try kernel.startSyncDaemon(daemon) }
    func stopSyncDaemon(_ role: SyncDaemon.Role) throws(IPVSError) { try kernel.stopSyncDaemon(role) }
    func sysctl(_ name: IPVSSysctl) throws(IPVSError) -> Int { try kernel.sysctl(name) }
    func setSysctl(_ name: IPVSSysctl, to value: Int) throws(IPVSError) { try kernel.setSysctl(name, to: value) }
    func zeroCounters(_ key: ServiceKey?) throws(IPVSError) { try kernel.zeroCounters(key) }
    func flush() throws(IPVSError) {
        written()
        try kernel.flush()
    }
}
