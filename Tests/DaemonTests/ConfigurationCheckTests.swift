import Daemon
import Foundation
import LVSyncTestSupport
import Testing

/// `lvsync check`: what the daemon would refuse at start, found without a host.
@Suite("configuration check")
struct ConfigurationCheckTests {
    /// A file for an elected `dira` written into `pki`'s directory; returns its path.
    static func write(_ pki: TestPKI, edit: (String) -> String = { $0 }, failover: String? = nil) throws -> String {
        var file = TestDirectorFile(node: "dira", listen: 7788, peers: [("dirb", 7789)])
        file.certificateWindow = (Date().addingTimeInterval(-3600), Date().addingTimeInterval(10 * 86_400 + 3600))
        file.failover =
            failover ?? """
                  boot_wait_ms: 100
                  vips: [{ address: 10.0.0.100/24, interface: eth0 }]
                """
        file.extra = """
            virtual_services:
              - protocol: tcp
                address: 10.0.0.100
                port: 80
                real_servers:
                  - { address: 10.0.0.21, forwarding: dr, check: { type: tcp }, on_failure: remove }
                  - { address: 10.0.0.22, forwarding: dr }

            """
        let path = pki.path("lvsync-\(UUID().uuidString.prefix(8)).yaml")
        try edit(try file.yaml(pki: pki)).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a usable file: one finding per part, the certificate's days left, and its advice as warnings")
    func usable() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let check = try ConfigurationCheck(path: try Self.write(pki))
        #expect(check.findings.contains("virtual_services: 1 services, 2 real servers, 1 health checks"))
        #expect(
            check.findings.contains {
                $0.hasPrefix("tls: ") && $0.contains("proves node 'dira', valid for 10 more days")
            }
        )
        #expect(check.findings.contains { $0.hasPrefix("peering: node 'dira', elected role, 1 peer(s)") })
        #expect(check.findings.contains("failover: priority 100, 1 VIPs, 0 health conditions"))
        #expect(check.advice.count == 1)
        #expect(check.advice.first?.contains("kernel.expire_nodest_conn is not true") == true)
    }

    @Test(
        "what the daemon refuses, check refuses, naming the file and the setting",
        arguments: [
            ("a syntax error", "sync: {", ":7:1: YAML: did not find expected"),
            ("a certificate for another node", "node: dira\n", "node is 'dirx' but"),
            ("a missing key file", "-key.pem", "cannot read the private key"),
            ("an unknown key", "priority:", "priorty: unknown key (known here: "),
        ]
    )
    func refused(_ what: String, _ target: String, _ reason: String) throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let path = try Self.write(pki) { yaml in
            switch what {
            case "a syntax error": yaml.replacingOccurrences(of: "sync: {", with: "sync: {{")
            case "a certificate for another node": yaml.replacingOccurrences(of: target, with: "node: dirx\n")
            case "a missing key file": yaml.replacingOccurrences(of: target, with: "-gone.pem")
            default: yaml.replacingOccurrences(of: target, with: "priorty:")
            }
        }
        #expect {
            try ConfigurationCheck(path: path)
        } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains(reason)
        }
    }

    @Test("the failover section: a notify hook that is not there, a UDP heartbeat key that is not there")
    func failoverFiles() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let hook = try Self.write(
            pki,
            failover: """
                  vips: [{ address: 10.0.0.100/24, interface: eth0 }]
                  notify: { command: /nonexistent/lvsync-notify }
                """
        )
        #expect {
            try ConfigurationCheck(path: hook)
        } throws: { error in
            "\(error)".contains("failover.notify: /nonexistent/lvsync-notify does not exist or is not executable")
        }
        let heartbeat = try Self.write(
            pki,
            failover: """
                  vips: [{ address: 10.0.0.100/24, interface: eth0 }]
                  udp_heartbeat: { listen: 127.0.0.1:7790, key_file: /nonexistent/key, peers: [{ name: dirb, address: 127.0.0.1:7791 }] }
                """
        )
        #expect {
            try ConfigurationCheck(path: heartbeat)
        } throws: { error in
            "\(error)".contains("failover.udp_heartbeat:") && "\(error)".contains(heartbeat)
        }
    }

    @Test("a file without peering is checked for lvsync ipvs apply")
    func servicesOnly() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let path = pki.path("services.yaml")
        try """
        virtual_services:
          - { protocol: udp, address: 10.0.0.100, port: 53, real_servers: [{ address: 10.0.0.21, forwarding: nat }] }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let check = try ConfigurationCheck(path: path)
        #expect(check.findings.count == 2)
        #expect(check.findings.last?.hasPrefix("peering: none") == true)
    }
}
