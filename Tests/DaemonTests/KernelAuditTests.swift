import Daemon
import Foundation
import LVSyncTestSupport
import Mirror
import NIOCore
import SyncWire
import Synchronization
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
        #expect(sink.figures.kernelMissing == 0)
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
        #expect(sink.auditKernel(readTable: { nil }) == nil)
        #expect(sink.auditKernel(kernelTable: { nil }) == nil)
        #expect(sink.figures.kernelMissing == 0 && sink.figures.kernelRepaired == 0)
    }
}

/// The active's side: what the kernel holds and the mirror lacks (a capture gap) is taken in and streamed.
@Suite("SyncSource.reconcile: the active's mirror filled from its kernel's table")
struct ReconcileTests {
    @Test("connections the mirror lacks or holds in another state are taken in and batched; unsynced states are not")
    func takesTheGap() {
        let source = SyncSource(syncID: 7)
        for message in TestConnections.messages(0..<100) {
            message.withUnsafeBytes { _ = source.ingest($0, capturedAtUnixNanoseconds: 0) }
        }
        source.flush()
        let batches = source.figures.batches
        var kernel = (0..<100).map(TestConnections.connection)
        // Three the capture never saw, one that moved on to FIN_WAIT, one half-open (the kernel master sends no
        // SYN_RECV): four to take in.
        kernel += (100..<103).map(TestConnections.connection)
        var finished = kernel[10]
        finished.state = ConnectionState(rawValue: 4)
        kernel[10] = finished
        var halfOpen = TestConnections.web(client: 0x0a09_0002, port: 2222, server: 1)
        halfOpen.state = ConnectionState(rawValue: 3)
        kernel.append(halfOpen)
        #expect(source.reconcile(with: kernel) == 4)
        #expect(source.figures.reconciled == 4)
        #expect(source.figures.batches > batches)
        #expect(source.figures.tableSize == 103)
        // The same table again: nothing left to take.
        #expect(source.reconcile(with: kernel) == 0)
    }

    @Test("capture drops mark a gap once")
    func gap() {
        let source = SyncSource(syncID: 7)
        #expect(!source.takeGap())
        source.noteCaptureDrops(3)
        #expect(source.takeGap())
        #expect(!source.takeGap())
        #expect(source.figures.captureDrops == 3)
    }
}

/// The active's closed loop, assembled: a capture that drops messages has the gap filled from the kernel's table.
@Suite("Capture gaps filled from the kernel's table")
struct CaptureGapTests {
    /// Runs `body` with an elected director alone whose kernel's table (a file) holds its header only while the
    /// director starts (nothing to seed from) and then `dirA.ip_vs_conn`'s 29 connections: what the kernel made while
    /// the capture saw nothing.
    static func withConnectionsUnseen(
        _ body: (LVSyncDaemon, SyncSource, InMemoryHost) async throws -> Void
    ) async throws {
        let host = InMemoryHost()
        let full = try KernelAuditTests.fixture("dirA.ip_vs_conn")
        let table = FileManager.default.temporaryDirectory.appendingPathComponent("ip_vs_conn-\(UUID().uuidString)")
        try String(full.prefix { $0 != "\n" }).write(to: table, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: table) }
        host.connectionTable.withLock { $0 = table.path }
        try await FailSafeTests.whileAlone(on: host) { daemon in
            let source = try #require(daemon.director.director.source)
            #expect(source.table.count == 0)
            try full.write(to: table, atomically: true, encoding: .utf8)
            try await body(daemon, source, host)
        }
    }

    @Test("the capture reports drops: the kernel's table is read at once and what the mirror lacks taken in")
    func gapFilled() async throws {
        try await Self.withConnectionsUnseen { _, source, host in
            // The capture lost the 29 connections' messages; the periodic reconcile is 15 s away.
            host.master.reportDrops(3)
            #expect(await eventually(limit: .seconds(10)) { source.figures.captureDrops == 3 })
            #expect(await eventually(limit: .seconds(10)) { source.figures.reconciled > 0 })
            #expect(source.table.count == source.figures.reconciled)
            // The kernel's own count (its real servers' counters, none here) is read on its own.
            #expect(await eventually { source.figures.kernelConnections == 0 })
        }
    }

    @Test("an audit asked for (lvsync audit) runs at once and reports what it read and took in")
    func auditAskedFor() async throws {
        try await Self.withConnectionsUnseen { daemon, source, _ in
            let report = try await daemon.director.auditNow()
            #expect(report.role == "active" && report.error == nil, "\(report)")
            #expect(report.kernelTable == 29)
            #expect(report.reconciled == source.table.count && source.table.count > 0)
        }
    }
}
