import Daemon
import Foundation
import IPVS
import LVSyncTestSupport
import Testing

@Suite("SIGHUP reload: IPVS services as a diff, a bad file refused, restart-only sections named")
struct ConfigReloaderTests {
    static let head = """
        node: dira
        listen: 10.0.1.2:7788
        peers: [{ name: dirb, address: 10.0.1.3:7788 }]
        tls: { ca: /ca.pem, certificate: /a.pem, key: /a-key.pem }
        sync: { role: active, interface: lvsync0, address: 169.254.77.1, syncid: 9 }

        """

    static func services(weight: Int) -> String {
        """
        virtual_services:
          - protocol: tcp
            address: 10.0.0.100
            port: 80
            scheduler: wrr
            real_servers:
              - { address: 10.0.0.21, forwarding: dr, weight: \(weight) }

        """
    }

    func reloader(_ ipvs: InMemoryIPVS) -> ConfigReloader {
        ConfigReloader(
            path: "lvsync.yaml",
            running: nil,
            ipvs: ipvs,
            services: IPVSReconciler(ipvs: ipvs, file: nil, monitor: HealthMonitor(), logger: quietLogger),
            logger: quietLogger
        )
    }

    @Test("a good file applies its services; a changed weight is one edit; the same file again changes nothing")
    func goodFile() throws {
        let ipvs = InMemoryIPVS()
        let reloader = reloader(ipvs)
        #expect(reloader.reload(text: Self.head + Self.services(weight: 1)).description.hasPrefix("applied 2 IPVS"))
        #expect(
            reloader.reload(text: Self.head + Self.services(weight: 5))
                == .applied(ipvsChanges: 1, sysctlChanges: 0, needRestart: [])
        )
        #expect(try ipvs.services().count == 1)
        let server = try #require(try ipvs.realServers(of: ipvs.services()[0].service.key).first)
        #expect(server.server.weight == 5)
        #expect(
            reloader.reload(text: Self.head + Self.services(weight: 5))
                == .applied(ipvsChanges: 0, sysctlChanges: 0, needRestart: [])
        )
    }

    @Test("a bad file is refused with its error and the kernel keeps what it had")
    func badFile() throws {
        let ipvs = InMemoryIPVS()
        let reloader = reloader(ipvs)
        _ = reloader.reload(text: Self.head + Self.services(weight: 1))
        let before = try ipvs.services()
        let outcome = reloader.reload(
            text: Self.head + Self.services(weight: 1).replacingOccurrences(of: "wrr", with: "wrrr")
        )
        guard case .refused(let reason) = outcome else {
            Issue.record("accepted a scheduler the kernel does not have: \(outcome)")
            return
        }
        #expect(reason.contains("wrrr"))
        #expect(try ipvs.services() == before)
        #expect(reloader.reload(text: "node: [").description.hasPrefix("refused"))
    }

    @Test("changed sections that need a restart are named, and the services still apply")
    func restartSections() {
        let ipvs = InMemoryIPVS()
        let reloader = reloader(ipvs)
        _ = reloader.reload(text: Self.head + Self.services(weight: 1))
        let changed = Self.head.replacingOccurrences(of: "syncid: 9", with: "syncid: 10")
            .replacingOccurrences(of: "10.0.1.3:7788", with: "10.0.1.4:7788")
        #expect(
            reloader.reload(text: changed + Self.services(weight: 1))
                == .applied(ipvsChanges: 0, sysctlChanges: 0, needRestart: ["listen/peers", "sync"])
        )
    }
}
