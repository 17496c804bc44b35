import Foundation
import SyncWire
import Testing

/// The golden captures recorded from a real IPVS kernel (Tests/Fixtures/kernel-6.1, see its README): the decoder's
/// entries must be exactly what the kernels listed, and re-encoding must give back the kernel's bytes.
@Suite("Kernel 6.1 captures")
struct KernelCaptureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/kernel-6.1").standardized

    static func text(_ version: Int, _ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent("v\(version)/\(name)"), encoding: .utf8)
    }

    static func messages(_ version: Int) throws -> [[UInt8]] {
        let parsed = HexMessages.parse(try text(version, "sync.hex"))
        #expect(parsed.problems.isEmpty)
        return parsed.messages.map(\.bytes)
    }

    /// What identifies an entry in /proc, with what /proc shows of it.
    struct Row: Hashable, CustomStringConvertible {
        var proto: IPProtocol
        var client: Endpoint
        var virtual: Endpoint
        var destination: Endpoint
        var state: String
        var pe: String?

        var description: String { "\(proto) \(client) \(virtual) \(destination) \(state) \(pe ?? "-")" }
    }

    static func row(_ c: SyncConnection, withPersistence: Bool) -> Row {
        Row(
            proto: c.ipProtocol,
            client: c.client,
            virtual: c.virtual,
            destination: c.destination,
            state: c.stateName,
            pe: withPersistence ? c.persistence.map { "\($0.engine) \($0.dataText ?? "?")" } : nil
        )
    }

    static func row(_ p: ProcConnection, withPersistence: Bool) -> Row {
        Row(
            proto: p.ipProtocol,
            client: p.client,
            virtual: p.virtual,
            destination: p.destination,
            state: p.stateName,
            pe: withPersistence ? p.persistence.map { "\($0.engine) \($0.dataText ?? "?")" } : nil
        )
    }

    /// The latest entry per kernel key, in capture order: what a backup ends up holding.
    static func latest(_ messages: [[UInt8]]) -> [SyncConnection] {
        var order: [String] = []
        var latest: [String: SyncConnection] = [:]
        for bytes in messages {
            for c in SyncMessageDecoder.decode(bytes).message?.connections ?? [] {
                let pe = c.isTemplate ? c.persistence.map { HexMessages.hex($0.data) } ?? "" : ""
                let key = "\(c.ipProtocol) \(c.client) \(c.virtual) \(c.isTemplate) \(pe)"
                if latest[key] == nil { order.append(key) }
                latest[key] = c
            }
        }
        return order.map { latest[$0]! }
    }

    @Test("every captured message decodes cleanly and re-encodes to the kernel's own bytes", arguments: [1, 0])
    func reencodesByteForByte(version: Int) throws {
        let messages = try Self.messages(version)
        #expect(!messages.isEmpty)
        for (index, bytes) in messages.enumerated() {
            let decoded = SyncMessageDecoder.decode(bytes)
            #expect(decoded.problems.isEmpty, "message \(index): \(decoded.problems)")
            let message = try #require(decoded.message)
            #expect(message.version.rawValue == UInt8(version))
            #expect(message.syncID == 9)
            #expect(try SyncMessageEncoder.encode(message) == bytes, "message \(index) re-encodes differently")
        }
    }

    @Test("the pcap holds the same messages as the hex file", arguments: [1, 0])
    func pcapMatchesHex(version: Int) throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("v\(version)/sync.pcap"))
        let pcap = try PcapFile(bytes: [UInt8](data))
        #expect(pcap.problems.isEmpty)
        #expect(pcap.datagrams.map(\.payload) == (try Self.messages(version)))
        #expect(pcap.datagrams.allSatisfy { $0.destination.description == "224.0.0.81:8848" })
    }

    @Test("version 1: the decoded entries are exactly the master's /proc/net/ip_vs_conn, pe_data included")
    func v1EntriesEqualMasterTable() throws {
        let decoded = Set(Self.latest(try Self.messages(1)).map { Self.row($0, withPersistence: true) })
        let master = ProcConnTable(parsing: try Self.text(1, "dirA.ip_vs_conn"))
        #expect(master.problems.isEmpty)
        let listed = Set(master.entries.map { Self.row($0, withPersistence: true) })
        #expect(
            decoded == listed,
            "only decoded: \(decoded.subtracting(listed)); only listed: \(listed.subtracting(decoded))"
        )
        #expect(listed.count == 29)
        #expect(decoded.contains { $0.pe?.hasPrefix("sip call-") == true })
        #expect(decoded.contains { $0.proto == .ip && $0.virtual.description == "0.0.0.7:0" })
        #expect(decoded.contains { $0.proto == .sctp })
        #expect(decoded.contains { $0.client.address.family == .inet6 })
    }

    @Test("version 1: the kernel backup that received these messages lists the same entries, Origin SYNC")
    func v1EntriesEqualBackupTable() throws {
        let decoded = Set(Self.latest(try Self.messages(1)).map { Self.row($0, withPersistence: false) })
        let backup = ProcConnTable(parsing: try Self.text(1, "dirB.ip_vs_conn_sync"))
        #expect(backup.problems.isEmpty)
        #expect(backup.entries.allSatisfy { $0.origin == .sync })
        #expect(Set(backup.entries.map { Self.row($0, withPersistence: false) }) == decoded)
        let backupWithPE = ProcConnTable(parsing: try Self.text(1, "dirB.ip_vs_conn"))
        let decodedWithPE = Set(Self.latest(try Self.messages(1)).map { Self.row($0, withPersistence: true) })
        #expect(Set(backupWithPE.entries.map { Self.row($0, withPersistence: true) }) == decodedWithPE)
    }

    @Test("version 0: IPv4 entries only, no pe_data; the backup's table equals the decoded entries")
    func v0EntriesEqualTables() throws {
        let entries = Self.latest(try Self.messages(0))
        #expect(entries.allSatisfy { $0.family == .inet && $0.timeout == nil && $0.persistence == nil })
        let decoded = Set(entries.map { Self.row($0, withPersistence: false) })
        let master = ProcConnTable(parsing: try Self.text(0, "dirA.ip_vs_conn"))
        let masterIPv4 = Set(
            master.entries.filter { $0.client.address.family == .inet }.map { Self.row($0, withPersistence: false) }
        )
        #expect(decoded.isSubset(of: masterIPv4))
        // v0 cannot tell the SIP templates apart (no pe_data): the master's three collapse into the latest one.
        #expect(masterIPv4.subtracting(decoded).allSatisfy { $0.proto == .udp && $0.client.port == 0 })
        let backup = ProcConnTable(parsing: try Self.text(0, "dirB.ip_vs_conn_sync"))
        #expect(Set(backup.entries.map { Self.row($0, withPersistence: false) }) == decoded)
    }
}
