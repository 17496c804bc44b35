import Config
import Foundation
import IPVS
import Testing

@Suite("Configuration: the kernel section (IPVS sysctls) and the advice on failed servers' clients")
struct KernelConfigTests {
    static func config(_ text: String) throws -> LVSyncConfig { try LVSyncConfig(yaml: text, file: "k.yaml") }

    static func services(onFailure: String, persistent: Bool) -> String {
        """
        virtual_services:
          - protocol: udp
            address: 10.0.0.100
            port: 53
            \(persistent ? "persistence: { timeout: 120 }" : "")
            real_servers:
              - address: 10.0.0.21
                on_failure: \(onFailure)
                check: { type: udp, payload: ping }

        """
    }

    @Test("true and false become 1 and 0; a key left out is not set")
    func parsed() throws {
        let both = try Self.config("kernel: { expire_nodest_conn: true, expire_quiescent_template: no }\n")
        #expect(both.kernel.sysctls == [.expireNodestConn: 1, .expireQuiescentTemplate: 0])
        #expect(both.kernel.isOn(.expireNodestConn) && !both.kernel.isOn(.expireQuiescentTemplate))
        #expect(try Self.config("kernel: { expire_nodest_conn: on }\n").kernel.sysctls == [.expireNodestConn: 1])
        #expect(try Self.config("priority: 100\n").kernel.sysctls.isEmpty)
    }

    @Test("the audit interval: 15 s unless set, 0 for none on a timer, out of range refused with the key")
    func auditInterval() throws {
        #expect(try Self.config("priority: 100\n").kernel.auditIntervalSeconds == 15)
        #expect(try Self.config("kernel: { audit_interval_seconds: 600 }\n").kernel.auditIntervalSeconds == 600)
        #expect(try Self.config("kernel: { audit_interval_seconds: 0 }\n").kernel.auditIntervalSeconds == 0)
        #expect(try Self.config("kernel: { audit_interval_seconds: 0 }\n").kernel.sysctls.isEmpty)
        #expect(throws: ConfigError.self) { try Self.config("kernel: { audit_interval_seconds: -1 }\n") }
        do {
            _ = try Self.config("kernel: { audit_interval_seconds: fast }\n")
            Issue.record("a word accepted as the interval")
        } catch {
            #expect("\(error)".contains("kernel.audit_interval_seconds"), "\(error)")
        }
    }

    @Test("an unknown sysctl or a value that is not a boolean names the key and the line")
    func errors() {
        func error(_ text: String) -> String {
            do {
                _ = try Self.config(text)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let unknown = error("kernel:\n  expire_nodest: true\n")
        #expect(unknown.contains("k.yaml:2:") && unknown.contains("kernel.expire_nodest"))
        #expect(unknown.contains("expire_nodest_conn, expire_quiescent_template"))
        let value = error("kernel: { expire_quiescent_template: 2 }\n")
        #expect(value.contains("kernel.expire_quiescent_template") && value.contains("expected true or false"))
    }

    @Test(
        "removal without expire_nodest_conn, or quiescing persistence without the template sysctl, is advised against"
    )
    func advice() throws {
        let removed = try Self.config(Self.services(onFailure: "remove", persistent: false))
        #expect(removed.advice.count == 1)
        #expect(removed.advice.first?.contains("kernel.expire_nodest_conn is not true") == true)
        #expect(removed.advice.first?.contains("10.0.0.21:53 of udp 10.0.0.100:53") == true)
        let fixed = try Self.config(
            "kernel: { expire_nodest_conn: true }\n" + Self.services(onFailure: "remove", persistent: false)
        )
        #expect(fixed.advice.isEmpty)
        let quiesced = try Self.config(Self.services(onFailure: "quiesce", persistent: true))
        #expect(quiesced.advice.count == 1)
        #expect(quiesced.advice.first?.contains("kernel.expire_quiescent_template is not true") == true)
        #expect(try Self.config(Self.services(onFailure: "quiesce", persistent: false)).advice.isEmpty)
        let quiescedFixed = try Self.config(
            "kernel: { expire_quiescent_template: true }\n" + Self.services(onFailure: "quiesce", persistent: true)
        )
        #expect(quiescedFixed.advice.isEmpty)
    }

    @Test("removal from an mh or sh service is advised against: a recovery moves the servers listed after it")
    func orderAdvice() throws {
        let text = "kernel: { expire_nodest_conn: true }\n" + Self.services(onFailure: "remove", persistent: false)
        let mh = try Self.config(text.replacingOccurrences(of: "port: 53\n", with: "port: 53\n    scheduler: mh\n"))
        #expect(mh.advice.count == 1)
        #expect(mh.advice.first?.contains("of mh or sh services are removed when they fail") == true)
        #expect(try Self.config(text).advice.isEmpty)
    }
}
