import Config
import Daemon
import IPVS
import LVSyncTestSupport
import Synchronization
import Testing

@Suite("The kernel section: IPVS sysctls set at start and on a reload, only where they differ")
struct KernelTunablesTests {
    @Test("only the configured sysctls that differ are written; applying again changes nothing")
    func apply() throws {
        let ipvs = InMemoryIPVS()
        let kernel = KernelConfig(sysctls: [.expireNodestConn: 1, .expireQuiescentTemplate: 0])
        let first = try KernelTunables.apply(kernel, to: ipvs, logger: quietLogger)
        #expect(first.map(\.description) == ["expire_nodest_conn 0 -> 1"])
        #expect(try ipvs.sysctl(.expireNodestConn) == 1)
        #expect(try KernelTunables.apply(kernel, to: ipvs, logger: quietLogger).isEmpty)
        // A key left out leaves the kernel's value alone.
        #expect(try KernelTunables.apply(KernelConfig(), to: ipvs, logger: quietLogger).isEmpty)
        #expect(try ipvs.sysctl(.expireNodestConn) == 1)
    }

    @Test("a reload sets the new file's sysctls, says so, and hands the applied file on; a refused file does not")
    func reload() throws {
        let ipvs = InMemoryIPVS()
        let handed = Mutex<[LVSyncConfig]>([])
        let reloader = ConfigReloader(
            path: "lvsync.yaml",
            running: nil,
            ipvs: ipvs,
            services: IPVSReconciler(ipvs: ipvs, file: nil, monitor: HealthMonitor(), logger: quietLogger),
            logger: quietLogger,
            applied: { file in handed.withLock { $0.append(file) } }
        )
        let text = "kernel: { expire_nodest_conn: true, expire_quiescent_template: true }\n"
        #expect(reloader.reload(text: text) == .applied(ipvsChanges: 0, sysctlChanges: 2, needRestart: []))
        #expect(reloader.reload(text: text).description == "applied 0 IPVS change(s)")
        #expect(try ipvs.sysctl(.expireQuiescentTemplate) == 1)
        #expect(handed.withLock { $0.count } == 2)
        #expect(handed.withLock { $0.last?.kernel.isOn(.expireNodestConn) } == true)
        guard case .refused = reloader.reload(text: "kernel: { expire_nodest_conn: maybe }\n") else {
            Issue.record("a bad value was accepted")
            return
        }
        #expect(handed.withLock { $0.count } == 2)
        #expect(try ipvs.sysctl(.expireNodestConn) == 1)
    }
}
