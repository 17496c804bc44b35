import Config
import Foundation
import IPVS
import SyncWire
import Testing

/// `lvsync ipvs export` and `lvsync import`'s writer: what it writes reads back into the same table.
@Suite("Configuration: virtual_services written back")
struct VirtualServicesYAMLTests {
    static func roundTrip(_ services: [DesiredService]) throws -> [DesiredService] {
        try LVSyncConfig(yaml: VirtualServicesYAML.render(services), file: "export.yaml").virtualServices
    }

    @Test("the example's services (NAT, DR, tunnels, fwmark, IPv6, persistence, SIP, SCTP) come back the same")
    func example() throws {
        let text = try String(contentsOf: ConfigTests.example, encoding: .utf8)
        let services = try LVSyncConfig(yaml: text, file: "director-a.yaml").virtualServices
        #expect(services.count == 7)
        #expect(try Self.roundTrip(services) == services)
    }

    @Test("random tables come back the same (2 000 of them)")
    func random() throws {
        var generator = SeededGenerator(seed: 0x5eed)
        for _ in 0..<2000 {
            let services = Self.table(using: &generator)
            let back = try Self.roundTrip(services)
            #expect(back == services, "\(VirtualServicesYAML.render(services))")
            if back != services { return }
        }
    }

    @Test("an empty table is an empty list")
    func empty() throws {
        #expect(VirtualServicesYAML.render([]) == "virtual_services: []\n")
        #expect(try Self.roundTrip([]).isEmpty)
    }

    /// A table of up to 4 services with up to 4 real servers each, over the settings the writer knows.
    static func table(using g: inout SeededGenerator) -> [DesiredService] {
        var services: [DesiredService] = []
        var keys: Set<ServiceKey> = []
        for _ in 0..<Int.random(in: 0...4, using: &g) {
            let v6 = Bool.random(using: &g)
            let key: ServiceKey
            if Int.random(in: 0..<5, using: &g) == 0 {
                key = .firewallMark(UInt32.random(in: 1...UInt32.max, using: &g), v6 ? .inet6 : .inet)
            } else {
                let proto = [IPProtocol.tcp, .udp, .sctp].randomElement(using: &g)!
                key = .address(proto, Endpoint(address(v6: v6, using: &g), UInt16.random(in: 0...65535, using: &g)))
            }
            guard keys.insert(key).inserted else { continue }
            var flags: ServiceFlags = []
            var netmask: UInt32?
            var engine: String?
            if Bool.random(using: &g) {
                flags.insert(.persistent)
                if Bool.random(using: &g) {
                    netmask =
                        v6 ? UInt32.random(in: 1...128, using: &g) : ~UInt32(0) << UInt32.random(in: 0...24, using: &g)
                }
                if case .address(.udp, _) = key, Bool.random(using: &g) { engine = "sip" }
            }
            if Bool.random(using: &g) { flags.insert(.onePacket) }
            for flag in [ServiceFlags.scheduler1, .scheduler2, .scheduler3] where Bool.random(using: &g) {
                flags.insert(flag)
            }
            let service = VirtualService(
                key: key,
                scheduler: ["rr", "wrr", "lc", "wlc", "sh", "mh"].randomElement(using: &g)!,
                flags: flags,
                persistenceTimeout: flags.contains(.persistent) ? UInt32.random(in: 1...2_678_400, using: &g) : 0,
                netmask: netmask,
                persistenceEngine: engine
            )
            var servers: [RealServer] = []
            var endpoints: Set<Endpoint> = []
            for _ in 0..<Int.random(in: 0...4, using: &g) {
                let method = [ForwardingMethod.masquerade, .directRoute, .tunnel, .localNode].randomElement(using: &g)!
                // Another family than the service's only through a tunnel.
                let serverV6 = method == .tunnel ? Bool.random(using: &g) : v6
                let endpoint = Endpoint(address(v6: serverV6, using: &g), UInt16.random(in: 0...65535, using: &g))
                guard endpoints.insert(endpoint).inserted else { continue }
                let upper = UInt32.random(in: 0...1000, using: &g)
                var tunnel: TunnelSettings?
                if method == .tunnel {
                    let type = [TunnelType.ipip, .gue, .gre].randomElement(using: &g)!
                    tunnel = TunnelSettings(
                        type: type,
                        port: type == .gue ? UInt16.random(in: 1...65535, using: &g) : 0,
                        flags: UInt16.random(in: 0...3, using: &g)
                    )
                }
                servers.append(
                    RealServer(
                        endpoint: endpoint,
                        forwarding: method,
                        weight: Int32.random(in: 0...65535, using: &g),
                        upperThreshold: upper,
                        lowerThreshold: UInt32.random(in: 0...upper, using: &g),
                        tunnel: tunnel
                    )
                )
            }
            services.append(DesiredService(service: service, realServers: servers))
        }
        return services
    }

    static func address(v6: Bool, using g: inout SeededGenerator) -> IPAddress {
        v6
            ? .v6(
                IPv6Address(
                    high: UInt64.random(in: 0...UInt64.max, using: &g),
                    low: UInt64.random(in: 0...UInt64.max, using: &g)
                )
            )
            : .v4(IPv4Address(UInt32.random(in: 1...UInt32.max, using: &g)))
    }
}

/// A small deterministic generator (SplitMix64), so that a failure repeats.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
