import Daemon
import Foundation
import LVSyncTestSupport
import NIOCore
import SyncWire
import Testing

/// The standby's audit against a real kernel's table: the golden capture of Tests/Fixtures/kernel-6.1 (the messages
/// a kernel master sent, and the table of the kernel backup that received them).
@Suite("KernelAudit: the mirror held against the kernel's own table")
struct KernelAuditTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/kernel-6.1/v1").standardized

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    /// A sink that applied every captured message, and its in-memory kernel.
    static func sink() throws -> (SyncSink, InMemoryKernelBackup) {
        let kernel = InMemoryKernelBackup()
        let sink = SyncSink(injector: kernel)
        var buffer = ByteBuffer()
        for message in HexMessages.parse(try fixture("sync.hex")).messages { buffer.writeBytes(message.bytes) }
        #expect(sink.apply(buffer).isEmpty)
        let fed = DispatchSemaphore(value: 0)
        sink.whenKernelHasAll { fed.signal() }
        fed.wait()
        return (sink, kernel)
    }

    @Test("the backup kernel that received the messages holds every connection of the mirror")
    func kernelHoldsAll() throws {
        let (sink, _) = try Self.sink()
        let table = try Self.fixture("dirB.ip_vs_conn")
        let audit = try #require(sink.auditKernel { table })
        #expect(audit.kernelConnections == 29)
        #expect(audit.mirrorConnections == 29)
        #expect(audit.missing.isEmpty, "\(audit.missing)")
        #expect(sink.figures.kernelConnections == 29 && sink.figures.kernelMissing == 0)
    }

    @Test("lines the kernel lacks are found, named and sent again")
    func missingSentAgain() throws {
        let (sink, kernel) = try Self.sink()
        let lines = try Self.fixture("dirB.ip_vs_conn").split(separator: "\n", omittingEmptySubsequences: false)
        // The header, then all but the 2nd, 5th and 9th connection.
        let kept = lines.enumerated().filter { ![2, 5, 9].contains($0.offset) }.map(\.element)
        let gone = Set([2, 5, 9].map { ProcConnTable(parsing: String(lines[$0])).entries[0].client })
        let before = kernel.messages
        let audit = try #require(sink.auditKernel { kept.joined(separator: "\n") })
        #expect(audit.kernelConnections == 26)
        #expect(Set(audit.missing.map(\.client)) == gone)
        #expect(sink.figures.kernelMissing == 3 && sink.figures.kernelRepaired == 3)
        // The repair went to the kernel: one more message, with the three.
        let fed = DispatchSemaphore(value: 0)
        sink.whenKernelHasAll { fed.signal() }
        fed.wait()
        #expect(kernel.messages == before + 1)
    }

    @Test("an unreadable table is no audit")
    func unreadable() throws {
        let (sink, _) = try Self.sink()
        #expect(sink.auditKernel { nil } == nil)
        #expect(sink.figures.kernelConnections == nil)
    }
}
