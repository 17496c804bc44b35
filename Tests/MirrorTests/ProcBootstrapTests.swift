import Foundation
import Mirror
import SyncWire
import Testing

/// A mirror bootstrapped from the master's `/proc/net/ip_vs_conn` (Tests/Fixtures/kernel-6.1/v1, recorded right
/// after the capture) must agree with what the kernel master itself sent for the same connections: the latest
/// decoded sync entry of each.
@Suite("Bootstrap from /proc/net/ip_vs_conn")
struct ProcBootstrapTests {
    static let v1 = KernelCaptureMirrorTests.fixtures.appendingPathComponent("v1")

    struct Key: Hashable, CustomStringConvertible {
        var proto: IPProtocol
        var client: Endpoint
        var virtual: Endpoint
        var template: Bool
        var pe: [UInt8]?

        init(_ c: SyncConnection) {
            proto = c.ipProtocol
            client = c.client
            virtual = c.virtual
            template = c.isTemplate
            pe = c.persistence?.data
        }

        var description: String { "\(proto) \(client) -> \(virtual)\(template ? " template" : "")" }
    }

    /// The forwarding method of each real server, read from `ipvsadm -Ln` (`services.txt`) as a caller reads its
    /// IPVS table: by service, or for firewall-mark services by real server address.
    static func forwardingLookup() throws -> ProcBootstrap.ForwardingLookup {
        let text = try String(contentsOf: v1.appendingPathComponent("services.txt"), encoding: .utf8)
        var byService: [String: ForwardingMethod] = [:]
        var byMarkedServer: [IPAddress: ForwardingMethod] = [:]
        var service: (proto: String, virtual: String)?
        let methods: [String: ForwardingMethod] = ["Route": .directRoute, "Masq": .masquerade, "Tunnel": .tunnel]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if ["TCP", "UDP", "SCTP", "FWM"].contains(fields.first) {
                service = (String(fields[0]), String(fields[1]))
            } else if fields.first == "->", fields.count >= 3, let service, let method = methods[String(fields[2])] {
                if service.proto == "FWM" {
                    byMarkedServer[Endpoint(String(fields[1]))!.address] = method
                } else {
                    byService["\(service.proto) \(service.virtual) \(fields[1])"] = method
                }
            }
        }
        #expect(byService.count == 11 && byMarkedServer.count == 2, "services.txt: \(byService) \(byMarkedServer)")
        return { proto, virtual, destination in
            byService["\(proto.name) \(virtual) \(destination)"] ?? byMarkedServer[destination.address]
        }
    }

    /// The latest entry per key among the master's decoded messages.
    static func decodedLatest() throws -> [Key: SyncConnection] {
        let hex = try String(contentsOf: v1.appendingPathComponent("sync.hex"), encoding: .utf8)
        var latest: [Key: SyncConnection] = [:]
        for message in HexMessages.parse(hex).messages {
            let decoded = SyncMessageDecoder.decode(message.bytes)
            #expect(decoded.problems.isEmpty)
            for c in decoded.message?.connections ?? [] { latest[Key(c)] = c }
        }
        return latest
    }

    @Test("bootstrapped entries equal the kernel master's latest sync entries on every field /proc shows")
    func matchesKernelSyncEntries() throws {
        let text = try String(contentsOf: Self.v1.appendingPathComponent("dirA.ip_vs_conn"), encoding: .utf8)
        let proc = ProcConnTable(parsing: text)
        #expect(proc.problems.isEmpty)
        let result = ProcBootstrap.connections(from: proc, forwarding: try Self.forwardingLookup())
        #expect(result.unusable.isEmpty)
        #expect(result.connections.count == 29)
        let bootstrapped = Dictionary(result.connections.map { (Key($0), $0) }) { a, _ in a }
        let kernel = try Self.decodedLatest()
        #expect(Set(bootstrapped.keys) == Set(kernel.keys))

        var checked = 0
        for (key, ours) in bootstrapped {
            guard let sent = kernel[key] else { continue }
            checked += 1
            let expires = proc.entries.first { Key(ProcBootstrap.connection(from: $0)!) == key }!.expires
            #expect(ours.destination == sent.destination, "\(key)")
            #expect(ours.stateName == sent.stateName, "\(key)")
            #expect(ours.flags == sent.flags, "\(key): flags 0x\(String(ours.flags.rawValue, radix: 16))")
            #expect(ours.persistence == sent.persistence, "\(key)")
            if key.template {
                // The service's persistence timeout is not in /proc: the default, or the seconds left if more.
                #expect(ours.fwmark == sent.fwmark, "\(key)")
                #expect(ours.timeout == max(180, expires), "\(key)")
                #expect(ours.timeout! >= expires)
            } else {
                // The packet's mark is not in /proc (the firewall-mark service's connections carry 7).
                #expect(ours.fwmark == 0)
                #expect(ours.timeout == sent.timeout, "\(key)")
            }
        }
        #expect(checked == 29)
    }

    @Test("the mirror seeded from /proc holds every line, each found by its key")
    func seedsMirror() throws {
        let text = try String(contentsOf: Self.v1.appendingPathComponent("dirA.ip_vs_conn"), encoding: .utf8)
        var table = MirrorTable()
        let now = MirrorTime(seconds: 100)
        let unusable = table.seed(from: ProcConnTable(parsing: text), forwarding: try Self.forwardingLookup(), now: now)
        #expect(unusable.isEmpty)
        #expect(table.count == 29)
        for sent in try Self.decodedLatest().values {
            #expect(table.lookup(sent, now: now)?.destination == sent.destination, "\(Key(sent))")
        }
        // 5 templates with less than 180 s left get 180 s, the firewall-mark one its 285 s left, the 11 UDP
        // connections 300 s, the 12 TCP and SCTP connections (ESTABLISHED) 900 s.
        #expect(table.removeExpired(now: MirrorTime(seconds: 100 + 179)) == 0)
        #expect(table.removeExpired(now: MirrorTime(seconds: 100 + 180)) == 5)
        #expect(table.removeExpired(now: MirrorTime(seconds: 100 + 285)) == 1)
        #expect(table.removeExpired(now: MirrorTime(seconds: 100 + 300)) == 11)
        #expect(table.removeExpired(now: MirrorTime(seconds: 100 + 900)) == 12)
    }

    @Test("lines the fixture lacks: an IPv6 firewall-mark template, closing TCP, an unknown state, unknown forwarding")
    func edgeLines() {
        let text = """
            Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
            IP  fd00:0000:0000:0000:0000:0000:0000:0010 0000 0000:0009:0000:0000:0000:0000:0000:0000 0000 fd00:0000:0000:0000:0000:0000:0000:0021 0000 ASSURED  3500
            TCP 0A00000A D586 0A000064 0050 0A000015 0050 FIN_WAIT         100
            TCP 0A00000A D587 0A000064 0050 0A000015 0050 SYN_RECV          30
            TCP 0A00000A D588 0A000064 0050 0A000015 0050 ERR!              30
            """
        let result = ProcBootstrap.connections(from: ProcConnTable(parsing: text)) { proto, _, _ in
            proto == .ip ? .directRoute : nil
        }
        #expect(result.unusable.map(\.client.port) == [0xD588])
        guard result.connections.count == 3 else {
            Issue.record("expected 3 entries, got \(result.connections)")
            return
        }
        let (template, closing, opening) = (result.connections[0], result.connections[1], result.connections[2])
        #expect(template.isTemplate && template.fwmark == 9 && template.timeout == 3500)
        #expect(template.flags == [.template, .inactive, .noOutput, ConnectionFlags(rawValue: 3)])
        #expect(closing.flags == .inactive && closing.timeout == 120 && closing.stateName == "FIN_WAIT")
        #expect(opening.flags == [] && opening.timeout == 60)
    }
}
