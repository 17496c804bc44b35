import Foundation
import Mirror
import SyncWire
import Testing

/// The mirror fed a real kernel master's sync traffic (Tests/Fixtures/kernel-6.1) must hold exactly what the kernel
/// listed: one entry per connection and template, the latest state of each, SIP templates told apart by Call-ID
/// (version 1) or merged as the kernel merges them (version 0, which has no pe_data).
@Suite("Mirror fed a real capture")
struct KernelCaptureMirrorTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/kernel-6.1").standardized

    struct Row: Hashable {
        var proto: IPProtocol
        var client: Endpoint
        var virtual: Endpoint
        var destination: Endpoint
        var state: String
        var pe: [UInt8]?
    }

    @Test("the mirror equals the table of the kernel backup that received the same messages", arguments: [1, 0])
    func mirrorEqualsKernel(version: Int) throws {
        let directory = Self.fixtures.appendingPathComponent("v\(version)")
        let hex = try String(contentsOf: directory.appendingPathComponent("sync.hex"), encoding: .utf8)
        var table = MirrorTable()
        let now = MirrorTime(seconds: 10)
        var problems: [SyncWireError] = []
        for message in HexMessages.parse(hex).messages {
            message.bytes.withUnsafeBytes { buffer in
                _ = SyncMessageDecoder.visit(buffer, problems: &problems) { table.upsert(copy $0, now: now) }
            }
        }
        #expect(problems.isEmpty)
        let mirrored = table.snapshot(now: now).map(\.connection)
        #expect(mirrored.allSatisfy { $0.timeout == (version == 1 ? $0.timeout! : nil) })
        let rows = Set(
            mirrored.map {
                Row(
                    proto: $0.ipProtocol,
                    client: $0.client,
                    virtual: $0.virtual,
                    destination: $0.destination,
                    state: $0.stateName,
                    pe: $0.persistence?.data
                )
            }
        )
        // The kernel backup that received the same messages: its table is what the mirror must equal.
        let backupText = try String(contentsOf: directory.appendingPathComponent("dirB.ip_vs_conn"), encoding: .utf8)
        let backup = ProcConnTable(parsing: backupText)
        #expect(backup.problems.isEmpty)
        let listed = Set(
            backup.entries.map {
                Row(
                    proto: $0.ipProtocol,
                    client: $0.client,
                    virtual: $0.virtual,
                    destination: $0.destination,
                    state: $0.stateName,
                    pe: $0.persistence?.data
                )
            }
        )
        #expect(rows == listed, "only mirrored: \(rows.subtracting(listed)); only listed: \(listed.subtracting(rows))")
        #expect(table.count == backup.entries.count)
    }
}
