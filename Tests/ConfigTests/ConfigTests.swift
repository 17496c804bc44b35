import Config
import Foundation
import IPVS
import LVSyncTestSupport
import SyncWire
import Testing

@Suite("Configuration: virtual_services")
struct ConfigTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../examples/director-a.yaml").standardized

    @Test("the example config reads into every kind of service")
    func example() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let config = try LVSyncConfig(yaml: text, file: "director-a.yaml")
        let services = config.virtualServices
        #expect(services.count == 7)
        let web = try #require(services.first)
        #expect(web.service.key == .address(.tcp, Endpoint("10.0.0.100:80")!))
        #expect(web.service.scheduler == "wrr")
        #expect(web.realServers.map(\.weight) == [1, 3])
        #expect(web.realServers.allSatisfy { $0.forwarding == .directRoute && $0.endpoint.port == 80 })
        let dns = services[1]
        #expect(dns.service.flags == .persistent && dns.service.persistenceTimeout == 120)
        #expect(dns.service.netmask == 0xffff_ff00)
        #expect(dns.realServers.allSatisfy { $0.forwarding == .masquerade })
        #expect(services[2].service.persistenceEngine == "sip")
        #expect(services[3].service.key.family == .inet6 && services[3].service.netmask == 128)
        #expect(services[4].realServers.first?.tunnel == TunnelSettings(type: .ipip))
        #expect(services[5].service.key == .firewallMark(7, .inet))
        #expect(services[5].realServers.map(\.endpoint.port) == [0, 0])
        #expect(services[6].service.key == .address(.sctp, Endpoint("10.0.0.100:3868")!))
    }

    @Test("applied to an IPVS table, the example converges, and applying it again changes nothing")
    func convergesOnTheTwin() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let desired = try LVSyncConfig(yaml: text, file: "director-a.yaml").virtualServices
        let ipvs = InMemoryIPVS()
        let first = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: desired)
        #expect(first.count == 7 + 13)
        try IPVSPlanner.apply(first, to: ipvs)
        #expect(IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: desired).isEmpty)
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var message: String
        var testDescription: String { message }
    }

    static let bad: [BadCase] = [
        BadCase(
            yaml:
                "virtual_services:\n  - protocol: tcp\n    address: 10.0.0.100\n    port: 80\n    real_servers:\n      - { address: 10.0.0.21, weight: heavy }\n",
            message:
                "f.yaml:6:39: virtual_services[0].real_servers[0].weight: expected a whole number from 0 to 2147483647, found \"heavy\""
        ),
        BadCase(
            yaml: "virtual_services:\n  - protocol: tcpp\n    address: 10.0.0.100\n    port: 80\n",
            message: "f.yaml:2:15: virtual_services[0].protocol: expected one of sctp, tcp, udp, found \"tcpp\""
        ),
        BadCase(
            yaml: "virtual_services:\n  - protocol: tcp\n    address: 10.0.0.300\n    port: 80\n",
            message: "f.yaml:3:14: virtual_services[0].address: expected an IPv4 or IPv6 address"
        ),
        BadCase(
            yaml: "virtual_services:\n  - protocol: tcp\n    address: 10.0.0.100\n",
            message: "f.yaml:2:5: virtual_services[0]: missing the key 'port'"
        ),
        BadCase(
            yaml: "virtual_servces: []\n",
            message:
                "f.yaml:1:1: virtual_servces: unknown key (known here: cluster, control, failover, kernel, limits, listen, metrics, node, peers, priority, stats, sync, timers, tls, virtual_services)"
        ),
        BadCase(
            yaml: "virtual_services:\n  - fwmark: 7\n    port: 80\n",
            message: "f.yaml:3:11: virtual_services[0].port: a firewall-mark service has no port"
        ),
        BadCase(
            yaml:
                "virtual_services:\n  - protocol: tcp\n    address: 10.0.0.100\n    port: 80\n    persistence: { engine: sip }\n",
            message:
                "f.yaml:5:28: virtual_services[0].persistence.engine: the sip persistence engine works on UDP services only"
        ),
        BadCase(
            yaml:
                "virtual_services:\n  - protocol: udp\n    address: 10.0.0.100\n    port: 53\n    real_servers:\n      - { address: \"fd00::1\", forwarding: nat }\n",
            message:
                "f.yaml:6:20: virtual_services[0].real_servers[0].address: a real server of another address family than its service needs forwarding: tunnel"
        ),
        BadCase(
            yaml:
                "virtual_services:\n  - { protocol: tcp, address: 10.0.0.100, port: 80 }\n  - { protocol: tcp, address: 10.0.0.100, port: 80 }\n",
            message:
                "f.yaml:3:5: virtual_services[1]: service tcp 10.0.0.100:80 is already declared at virtual_services[0]"
        ),
        BadCase(
            yaml:
                "virtual_services:\n  - protocol: tcp\n    address: 10.0.0.100\n    port: 80\n    real_servers:\n      - { address: 10.0.0.21, forwarding: tunnel, tunnel: { type: gue } }\n",
            message: "f.yaml:6:59: virtual_services[0].real_servers[0].tunnel: a GUE tunnel needs a port"
        ),
        BadCase(yaml: "virtual_services: [\n", message: "f.yaml:2:1: YAML: did not find expected node content"),
        BadCase(yaml: "", message: "f.yaml: the file is empty"),
    ]

    @Test("each config error names the file, line, key and what is wrong", arguments: bad)
    func errors(_ c: BadCase) {
        #expect(throws: (any Error).self) { try LVSyncConfig(yaml: c.yaml, file: "f.yaml") }
        do {
            _ = try LVSyncConfig(yaml: c.yaml, file: "f.yaml")
        } catch {
            #expect(error.description == c.message)
        }
    }
}
