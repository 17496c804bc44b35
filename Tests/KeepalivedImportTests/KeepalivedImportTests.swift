import Config
import Foundation
import IPVS
import KeepalivedImport
import SyncWire
import Testing

/// `lvsync import`: keepalived configurations (Corpus/, one per family of keywords) into lvsync's.
@Suite("keepalived import")
struct KeepalivedImportTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static func run(_ name: String, options: KeepalivedTranslator.Options = .init()) throws -> ImportResult {
        let path = corpus.appendingPathComponent(name).path
        var translator = KeepalivedTranslator(options: options)
        return try translator.translate(try KeepalivedParser.parse(file: path), source: name)
    }

    static func config(_ result: ImportResult) throws -> LVSyncConfig {
        try LVSyncConfig(yaml: result.yaml, file: "imported.yaml")
    }

    static func reported(_ result: ImportResult, _ keyword: String, _ kind: ImportFinding.Kind) -> Bool {
        result.findings.contains { $0.keyword == keyword && $0.kind == kind }
    }

    @Test("the parser: comments, quotes, braces on the next line, nested blocks")
    func parser() throws {
        let statements = try KeepalivedParser.parse(
            text: """
                ! comment
                global_defs { router_id "LVS A" # trailing
                }
                virtual_server 10.0.0.1 80
                {
                    real_server 10.0.0.2 80 { weight 2 }
                }
                """
        )
        #expect(statements.map(\.keyword) == ["global_defs", "virtual_server"])
        #expect(statements[0].block?.first?.arguments == ["LVS A"])
        #expect(statements[1].arguments == ["10.0.0.1", "80"])
        #expect(statements[1].block?.first?.block?.first?.arguments == ["2"])
        #expect(statements[1].block?.first?.location == "keepalived.conf:6")
    }

    @Test("what cannot be read is an error naming the line: an unclosed or unopened brace, an include loop")
    func unreadable() throws {
        #expect {
            try KeepalivedParser.parse(text: "a {\n b {\n }\n")
        } throws: { error in "\(error)".contains("keepalived.conf:1: a '{' that is never closed") }
        #expect {
            try KeepalivedParser.parse(text: "a\n}\n")
        } throws: { error in "\(error)".contains("keepalived.conf:2: a '}' that closes no block") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ka-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "include self.conf\n".write(
            to: folder.appendingPathComponent("self.conf"),
            atomically: true,
            encoding: .utf8
        )
        #expect {
            try KeepalivedParser.parse(file: folder.appendingPathComponent("self.conf").path)
        } throws: { error in "\(error)".contains("includes itself") }
    }

    @Test("a DR pair: the VRRP instance, the sync daemon, HTTP and HTTPS checks, persistence, a sorry server")
    func drPair() throws {
        let result = try Self.run("lvs-dr.conf")
        let config = try Self.config(result)
        let peering = try #require(config.peering)
        #expect(peering.node == "lvs-a")
        #expect(peering.priority == 150)
        #expect(peering.sync.syncID == 9)
        #expect(peering.sync.maximumMessageBytes == 1400)
        #expect(peering.heartbeatMilliseconds == 1000)
        let failover = try #require(peering.failover)
        #expect(failover.preempt == false)
        #expect(failover.vips.map(\.description).count == 2)
        #expect(failover.announceCount == 5)
        #expect(failover.announceRefreshMilliseconds == 60_000)
        #expect(failover.health.count == 2)
        #expect(failover.health.contains { $0.lowerPriorityBy == 30 })
        #expect(config.virtualServices.count == 2)
        let web = config.virtualServices[0]
        #expect(web.service.key == .address(.tcp, Endpoint("10.0.0.100:80")!))
        #expect(web.service.scheduler == "wrr")
        #expect(web.service.persistenceTimeout == 300 && web.service.netmask == 0xffff_ff00)
        #expect(web.realServers.map(\.weight) == [1, 3])
        #expect(web.realServers.allSatisfy { $0.forwarding == .directRoute })
        #expect(config.virtualServices[1].service.flags.contains(.scheduler2))
        let checks = config.health.checks
        #expect(checks.count == 4)
        let first = try #require(checks.first { $0.server == Endpoint("10.0.0.21:80")! })
        #expect(first.fall == 4 && first.rise == 1)  // retry 3: four failures in a row
        #expect(first.intervalMilliseconds == 6000 && first.timeoutMilliseconds == 3000)
        #expect(first.onFailure == .remove)
        #expect(checks.first { $0.server == Endpoint("10.0.0.22:80")! }?.onFailure == .quiesce)
        #expect(config.health.sorryServers[web.service.key]?.endpoint == Endpoint("10.0.0.99:8080")!)
        #expect(config.kernel.isOn(.expireNodestConn))
        // The report: every difference named.
        #expect(Self.reported(result, "digest", .notCarried))
        #expect(Self.reported(result, "url", .notCarried))  // the second URL
        #expect(Self.reported(result, "authentication", .differs))
        #expect(Self.reported(result, "notify_master", .differs))
        #expect(Self.reported(result, "state", .differs))
        #expect(Self.reported(result, "inhibit_on_failure", .note))
        #expect(Self.reported(result, "HTTP_GET", .differs))
        #expect(Self.reported(result, "lvs_sync_daemon", .differs))
        #expect(Self.reported(result, "global_defs", .notCarried))
        #expect(result.findings.contains { $0.location.contains("lvs-dr.conf:") && $0.reason.contains("MD5") })
    }

    @Test("groups expanded, firewall marks, NAT, TCP, MISC and DNS checks, thresholds, unsupported checks reported")
    func groups() throws {
        let result = try Self.run("groups.conf")
        let config = try Self.config(result)
        let keys = config.virtualServices.map(\.service.key)
        #expect(
            keys == [
                .address(.tcp, Endpoint("10.0.0.101:80")!), .address(.tcp, Endpoint("10.0.0.102:80")!),
                .address(.tcp, Endpoint("10.0.0.103:80")!), .address(.tcp, Endpoint("10.0.0.110:8080")!),
                .firewallMark(7, .inet), .address(.udp, Endpoint("10.0.0.100:53")!),
            ]
        )
        #expect(config.virtualServices[0].realServers.allSatisfy { $0.forwarding == .masquerade })
        #expect(config.virtualServices[0].realServers[1].upperThreshold == 1000)
        let tcp = try #require(
            config.health.checks.first {
                $0.server == Endpoint("192.168.10.21:80")! && $0.service == keys[0]
            }
        )
        #expect(tcp.fall == 3 && tcp.source == IPAddress("192.168.10.2"))
        #expect(tcp.onFailure == .quiesce)
        let misc = try #require(config.health.checks.first { $0.server == Endpoint("192.168.10.22:80")! })
        #expect("\(misc.probe)".contains("/usr/local/bin/check-web"))
        #expect(misc.timeoutMilliseconds == 5000)
        #expect(config.health.checks.contains { $0.target.port == 443 && $0.service == .firewallMark(7, .inet) })
        #expect(config.health.checks.filter { "\($0.probe)".contains("dns") }.count == 2)
        #expect(Self.reported(result, "virtual_server_group", .note))
        #expect(Self.reported(result, "misc_dynamic", .notCarried))
        #expect(Self.reported(result, "quorum", .notCarried))
        #expect(Self.reported(result, "PING_CHECK", .notCarried))
        #expect(config.peering?.sync.role == .active)  // no vrrp_instance: a fixed role
    }

    @Test("UDP with the SIP engine, one-packet scheduling and a UDP check; alpha and hex payloads reported")
    func sip() throws {
        let result = try Self.run("sip-udp.conf")
        let service = try #require(try Self.config(result).virtualServices.first)
        #expect(service.service.persistenceEngine == "sip")
        #expect(service.service.flags.contains(.onePacket))
        #expect(Self.reported(result, "alpha", .differs))
        #expect(Self.reported(result, "payload", .notCarried))
        #expect(Self.reported(result, "notify_down", .notCarried))
    }

    @Test("IPv6 through tunnels, two instances merged, unicast peers as the peer link, scripts reported")
    func ipv6() throws {
        let result = try Self.run("ipv6-tun.conf")
        let config = try Self.config(result)
        let peering = try #require(config.peering)
        #expect(peering.listen == Endpoint("10.0.1.3:7788"))
        #expect(peering.peers.map(\.address) == [Endpoint("10.0.1.2:7788")!])
        #expect(peering.heartbeatMilliseconds == 500)
        #expect(peering.failover?.preempt == true)
        #expect(peering.failover?.preemptDelayMilliseconds == 30_000)
        #expect(peering.failover?.vips.count == 3)
        let service = try #require(config.virtualServices.first)
        #expect(service.service.key.family == .inet6)
        #expect(service.service.flags.contains(.scheduler1))
        #expect(service.realServers.allSatisfy { $0.forwarding == .tunnel })
        #expect(Self.reported(result, "vrrp_instance", .differs))
        #expect(Self.reported(result, "vrrp_sync_group", .note))
        #expect(Self.reported(result, "vrrp_script", .notCarried))
        #expect(Self.reported(result, "track_script", .notCarried))
    }

    @Test("includes by glob, relative to the including file; a brace on the next line; SCTP")
    func includes() throws {
        let result = try Self.run("include.conf", options: .init(servicesOnly: true))
        let config = try Self.config(result)
        #expect(config.peering == nil)
        #expect(
            config.virtualServices.map(\.service.key) == [
                .address(.tcp, Endpoint("10.0.0.100:80")!), .address(.sctp, Endpoint("10.0.0.100:3868")!),
            ]
        )
        #expect(result.yaml.contains("# keepalived: conf.d/10-web.conf:1") || result.yaml.contains("10-web.conf:1"))
    }

    @Test("random keepalived-like text: read or refused with a reason, never a crash (5 000 texts)")
    func garbage() {
        let pieces = [
            "{", "}", "\n", " ", "\"", "#", "!", "virtual_server", "real_server", "10.0.0.1", "80", "fwmark", "group",
            "vrrp_instance", "virtual_ipaddress", "TCP_CHECK", "HTTP_GET", "url", "status_code", "200-299",
            "weight", "-5", "lb_kind", "TUN", "persistence_timeout", "99999999999", "virtual_server_group", "G",
            "10.0.0.1-300", "fd00::1", "track_interface", "priority", "0", "advert_int", "-1", "include",
            "misc_path", "lvs_sync_daemon", "id", "maxlen", "global_defs", "router_id", "é", "\u{0}",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let text = (0..<Int.random(in: 0...60, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined(separator: Bool.random(using: &generator) ? " " : "")
            guard let statements = try? KeepalivedParser.parse(text: text, folder: "/nonexistent") else { continue }
            var translator = KeepalivedTranslator()
            do {
                let result = try translator.translate(statements, source: "random.conf")
                #expect(!result.yaml.isEmpty)
            } catch {
                #expect(!"\(error)".isEmpty)
            }
        }
    }
}
