import Foundation
import IPVS
import SyncWire
import Testing

/// `lvsync ipvs list` prints what `ipvsadm -Ln` prints, byte for byte (the lab compares the two on a real kernel).
@Suite("ipvsadm's listing")
struct IPVSAdmTextTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/kernel-6.1/v1/services.txt").standardized

    /// The fixture (ipvsadm -Ln of the lab's seven services on a Debian 6.1 kernel) read into statuses.
    static func table(_ text: String) throws -> [(ServiceStatus, [RealServerStatus])] {
        var table: [(ServiceStatus, [RealServerStatus])] = []
        for line in text.split(separator: "\n").dropFirst(3) {
            let words = line.split(separator: " ").map(String.init)
            if words[0] == "->" {
                let forwarding: ForwardingMethod =
                    ["Masq": .masquerade, "Route": .directRoute, "Tunnel": .tunnel][words[2]]!
                let server = RealServer(
                    endpoint: try #require(Endpoint(words[1])),
                    forwarding: forwarding,
                    weight: Int32(words[3])!,
                    tunnel: forwarding == .tunnel ? TunnelSettings(type: .ipip) : nil
                )
                table[table.count - 1].1.append(
                    RealServerStatus(
                        server: server,
                        activeConnections: UInt32(words[4])!,
                        inactiveConnections: UInt32(words[5])!
                    )
                )
                continue
            }
            let key: ServiceKey =
                words[0] == "FWM"
                ? .firewallMark(UInt32(words[1])!, .inet)
                : .address(try #require(IPProtocol(name: words[0])), try #require(Endpoint(words[1])))
            let persistent = words.firstIndex(of: "persistent").map { UInt32(words[$0 + 1])! }
            let service = VirtualService(
                key: key,
                scheduler: words[2],
                flags: persistent == nil ? [] : .persistent,
                persistenceTimeout: persistent ?? 0,
                persistenceEngine: words.firstIndex(of: "pe").map { words[$0 + 1] }
            )
            table.append((ServiceStatus(service: service), []))
        }
        return table
    }

    @Test("the lab's seven services, given in any order, print as ipvsadm -Ln printed them")
    func listing() throws {
        let text = try String(contentsOf: Self.fixture, encoding: .utf8)
        var table = try Self.table(text)
        #expect(table.count == 7)
        var generator = SystemRandomNumberGenerator()
        table.shuffle(using: &generator)
        table.sort { IPVSAdmOrder.services($0.0.service.key, $1.0.service.key) }
        let servers = table.map { $0.1.sorted { IPVSAdmOrder.servers($0.server.endpoint, $1.server.endpoint) } }
        let rendered = IPVSAdmText.render(
            info: IPVSInfo(versionCode: 0x01_02_01, connectionTableSize: 4096),
            services: table.map(\.0),
            servers: servers
        )
        #expect(rendered + "\n" == text)
    }

    @Test("counters as ipvsadm prints them: nine columns, K M G T from 10^8, every digit with --exact")
    func numbers() {
        #expect(IPVSAdmText.number(0, exact: false) == "        0")
        #expect(IPVSAdmText.number(99_999_999, exact: false) == " 99999999")
        #expect(IPVSAdmText.number(100_000_000, exact: false) == "  100000K")
        #expect(IPVSAdmText.number(1_000_000_000, exact: false) == "    1000M")
        #expect(IPVSAdmText.number(100_000_000_000, exact: false) == "     100G")
        #expect(IPVSAdmText.number(100_000_000_000_000, exact: false) == "     100T")
        #expect(IPVSAdmText.number(12_345_678, exact: true) == " 12345678")
        #expect(IPVSAdmText.number(1_234_567_890, exact: true) == " 1234567890")
    }

    @Test("the --stats and --rate columns")
    func statsAndRate() {
        var statistics = IPVSStatistics()
        (statistics.connections, statistics.inPackets, statistics.inBytes) = (12, 345, 123_456_789_012)
        statistics.connectionRate = 3
        let service = ServiceStatus(
            service: VirtualService(key: .address(.tcp, Endpoint("10.0.0.100:80")!), scheduler: "rr"),
            statistics: statistics
        )
        let server = RealServerStatus(
            server: RealServer(endpoint: Endpoint("10.0.0.21:80")!, forwarding: .directRoute, weight: 1),
            statistics: statistics
        )
        let info = IPVSInfo(versionCode: 0x01_02_01, connectionTableSize: 4096)
        let stats = IPVSAdmText.render(info: info, services: [service], servers: [[server]], columns: .stats)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(stats[1] == "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes")
        #expect(stats[2] == "  -> RemoteAddress:Port")
        #expect(stats[3] == "TCP  10.0.0.100:80                      12      345        0     123G        0")
        #expect(stats[4] == "  -> 10.0.0.21:80                       12      345        0     123G        0")
        let exact = IPVSAdmText.render(
            info: info,
            services: [service],
            servers: [[server]],
            columns: .stats,
            exact: true
        ).split(separator: "\n")
        #expect(exact[3] == "TCP  10.0.0.100:80                      12      345        0 123456789012        0")
        let rate = IPVSAdmText.render(info: info, services: [service], servers: [[server]], columns: .rate)
            .split(separator: "\n")
        #expect(rate[1] == "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS")
        #expect(rate[3] == "TCP  10.0.0.100:80                       3        0        0        0        0")
    }

    @Test(
        "ipvsadm's order: no mark before a mark, IPv4 before IPv6, TCP UDP SCTP, then address (as a signed difference) and port"
    )
    func order() {
        func key(_ proto: IPProtocol, _ endpoint: String) -> ServiceKey { .address(proto, Endpoint(endpoint)!) }
        let keys: [ServiceKey] = [
            .firewallMark(7, .inet), key(.sctp, "10.0.0.100:3868"), key(.udp, "10.0.0.100:5060"),
            key(.tcp, "[fd00::100]:443"), key(.udp, "10.0.0.100:53"), key(.tcp, "10.0.0.100:80"),
            key(.tcp, "192.168.0.1:80"),
        ]
        #expect(
            keys.sorted(by: IPVSAdmOrder.services) == [
                key(.tcp, "192.168.0.1:80"), key(.tcp, "10.0.0.100:80"), key(.udp, "10.0.0.100:53"),
                key(.udp, "10.0.0.100:5060"), key(.sctp, "10.0.0.100:3868"), key(.tcp, "[fd00::100]:443"),
                .firewallMark(7, .inet),
            ]
        )
    }
}
