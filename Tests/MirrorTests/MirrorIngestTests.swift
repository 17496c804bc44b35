import Foundation
import Mirror
import SyncWire
import Testing

/// The one ingest of kernel sync messages both directors use: classification, what goes into the table, the
/// records handed back, and that the active director's and the standby's uses end with the same table.
@Suite("Mirror ingest of kernel sync messages")
struct MirrorIngestTests {
    static let t0 = MirrorTime(seconds: 100)

    static func tcp(
        _ port: UInt16,
        state: ConnectionState = .tcpEstablished,
        flags: ConnectionFlags = ConnectionFlags(rawValue: 0x83),
        sequence: SequenceOptions? = nil,
        ipProtocol: IPProtocol = .tcp
    ) -> SyncConnection {
        SyncConnection(
            ipProtocol: ipProtocol,
            client: Endpoint(.v4(IPv4Address(10, 0, 0, 10)), port),
            virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 80),
            destination: Endpoint(.v4(IPv4Address(10, 0, 0, 21)), 80),
            flags: sequence == nil ? flags : flags.union(.sequenceMask),
            state: state,
            timeout: 900,
            fwmark: 0,
            sequence: sequence
        )
    }

    static let tcp6 = SyncConnection(
        ipProtocol: .tcp,
        client: Endpoint(IPAddress("fd00::10")!, 41000),
        virtual: Endpoint(IPAddress("fd00::100")!, 443),
        destination: Endpoint(IPAddress("fd00::22")!, 443),
        flags: ConnectionFlags(rawValue: 0x83),
        state: .tcpEstablished,
        timeout: 600,
        fwmark: 0
    )

    static let sip = SyncConnection(
        ipProtocol: .udp,
        client: Endpoint(.v4(IPv4Address(10, 0, 0, 10)), 0),
        virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 5060),
        destination: Endpoint(.v4(IPv4Address(10, 0, 0, 22)), 5060),
        flags: [.template],
        state: .templateNone,
        timeout: 60,
        fwmark: 0,
        persistence: PersistenceData(engine: "sip", data: Array("call-1".utf8))
    )

    static let sequence = SequenceOptions(
        inbound: SequenceAdjustment(initialSequence: 1000, delta: 4, previousDelta: 0),
        outbound: SequenceAdjustment(initialSequence: 2000, delta: 0, previousDelta: 0)
    )

    static func v1(_ connections: [SyncConnection]) -> [UInt8] {
        try! SyncMessageEncoder.encode(SyncMessage(version: .v1, syncID: 9, connections: connections))
    }

    static func v0(_ connections: [SyncConnection]) -> [UInt8] {
        try! SyncMessageEncoder.encode(SyncMessage(version: .v0, syncID: 9, connections: connections))
    }

    /// One message of each kind, by name.
    static let messages: [String: [UInt8]] = [
        "plain": v1([tcp(1), tcp(2), tcp6, tcp(3)]),
        "options": v1([tcp(1), sip, tcp(2, sequence: sequence), tcp(3)]),
        "version0": v0([tcp(1), tcp(2, sequence: sequence), tcp(3)]),
        // The second entry's protocol has no IPVS handler: the kernel skips it and takes the others.
        "damaged, entry skipped": v1([tcp(1), tcp(2, ipProtocol: IPProtocol(rawValue: 47)), sip, tcp(3)]),
        // The header counts one entry more than there is: the kernel takes those before and drops the rest.
        "damaged, rest dropped": {
            var bytes = v1([tcp(1), tcp(2)])
            bytes[SyncWireLayout.Header.count] += 1
            return bytes
        }(),
        "damaged version 0": v0([tcp(1), tcp(2, state: ConnectionState(rawValue: 99))]),
        "dropped": Array(v1([tcp(1)]).dropLast()),
    ]

    static func ingest(
        _ bytes: [UInt8],
        into table: inout MirrorTable,
        keepingRecords: Bool = false
    ) -> IngestedSyncMessage {
        bytes.withUnsafeBytes { table.ingest($0, now: t0, keepingRecords: keepingRecords) }
    }

    /// What a table holds, in a form that compares across versions (version 0 entries have no timeout and fwmark,
    /// their version 1 re-encodings have 0).
    struct Row: Hashable {
        var entry: SyncEntry
        var sequence: SequenceOptions?
        var persistence: PersistenceData?
        var remaining: UInt32
    }

    static func rows(_ table: MirrorTable) -> Set<Row> {
        Set(
            table.snapshot(now: t0).map {
                Row(
                    entry: $0.connection.entry!,
                    sequence: $0.connection.sequence,
                    persistence: $0.connection.persistence,
                    remaining: $0.remaining
                )
            }
        )
    }

    @Test("a clean version 1 message without options is plain: its entries go in, no records are made")
    func plain() {
        var table = MirrorTable()
        let ingested = Self.ingest(Self.messages["plain"]!, into: &table)
        #expect(ingested.kind == .plain)
        #expect(ingested.version == .v1)
        #expect(ingested.syncID == 9)
        #expect(ingested.accepted == 4)
        #expect(!ingested.hasOptions && !ingested.hasProblems)
        #expect(ingested.records.isEmpty)
        #expect(table.count == 4)
        #expect(table.lookup(Self.tcp6, now: Self.t0) == Self.tcp6)
        #expect(table.lookup(Self.tcp(2), now: Self.t0) == Self.tcp(2))
    }

    @Test("entries with options are stored with them; the message is classified as having options")
    func options() {
        var table = MirrorTable()
        let ingested = Self.ingest(Self.messages["options"]!, into: &table)
        #expect(ingested.kind == .options)
        #expect(ingested.accepted == 4)
        #expect(ingested.hasOptions && !ingested.hasProblems)
        #expect(ingested.records.isEmpty)
        #expect(table.count == 4)
        #expect(table.lookup(Self.sip, now: Self.t0)?.persistence == Self.sip.persistence)
        #expect(table.lookup(Self.tcp(2), now: Self.t0)?.sequence == Self.sequence)
    }

    @Test("a version 0 message is classified so, and its entries come back as records without timeouts")
    func version0() throws {
        var table = MirrorTable()
        let bytes = Self.messages["version0"]!
        let ingested = Self.ingest(bytes, into: &table)
        #expect(ingested.kind == .version0)
        #expect(ingested.version == .v0)
        #expect(ingested.accepted == 3)
        #expect(ingested.hasOptions)
        #expect(!ingested.hasProblems)
        #expect(ingested.records == SyncMessageDecoder.decode(bytes).message?.connections)
        #expect(ingested.records.allSatisfy { $0.timeout == nil && $0.fwmark == nil })
        #expect(table.count == 3)
        let stored = try #require(table.lookup(Self.tcp(2), now: Self.t0))
        #expect(stored.sequence == Self.sequence)
        #expect(stored.timeout == nil)
        // No timeout on the wire: the kernel's default for an established TCP connection.
        #expect(table.snapshot(now: Self.t0).allSatisfy { $0.remaining == 900 })
    }

    @Test(
        "a damaged message keeps the entries the kernel keeps, with the reasons",
        arguments: ["damaged, entry skipped", "damaged, rest dropped", "damaged version 0"]
    )
    func damaged(name: String) throws {
        var table = MirrorTable()
        let bytes = Self.messages[name]!
        let ingested = Self.ingest(bytes, into: &table)
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(ingested.kind == .damaged)
        #expect(ingested.hasProblems)
        #expect(ingested.problems == decoded.problems)
        let connections = try #require(decoded.message?.connections)
        #expect(ingested.records == connections)
        #expect(ingested.accepted == connections.count)
        #expect(table.count == connections.count)
        switch name {
        case "damaged, entry skipped":
            #expect(ingested.problems.map(\.reason) == [.unsupportedProtocol(47)])
            #expect(ingested.problems.first?.consequence == .entrySkipped)
            #expect(ingested.accepted == 3)
            #expect(ingested.hasOptions)
            #expect(table.lookup(Self.sip, now: Self.t0)?.persistence == Self.sip.persistence)
        case "damaged, rest dropped":
            #expect(ingested.accepted == 2)
            #expect(ingested.problems.first?.consequence != .entrySkipped)
        default:
            #expect(ingested.version == .v0)
            #expect(ingested.accepted == 1)
            #expect(ingested.problems.map(\.reason) == [.invalidState(state: 99, protocolName: "TCP")])
        }
    }

    @Test("a message whose header the kernel rejects is dropped: nothing goes in")
    func dropped() {
        var table = MirrorTable()
        table.upsert(Self.tcp(1, state: ConnectionState(rawValue: 4)), now: Self.t0)
        let bytes = Self.messages["dropped"]!
        let ingested = Self.ingest(bytes, into: &table, keepingRecords: true)
        #expect(ingested.kind == .dropped)
        #expect(ingested.version == nil)
        #expect(ingested.accepted == 0)
        #expect(ingested.records.isEmpty)
        #expect(ingested.problems == SyncMessageDecoder.decode(bytes).problems)
        #expect(
            ingested.problems.map(\.reason) == [.sizeMismatch(headerSize: bytes.count + 1, actualLength: bytes.count)]
        )
        #expect(table.count == 1)
        #expect(table.lookup(Self.tcp(1), now: Self.t0)?.stateName == "FIN_WAIT")
        #expect(Self.ingest([1, 2, 0], into: &table).kind == .dropped)
    }

    @Test("records when asked for are the decoder's entries, for every kind", arguments: Array(messages.keys).sorted())
    func recordsWhenAsked(name: String) {
        var table = MirrorTable()
        let bytes = Self.messages[name]!
        let ingested = Self.ingest(bytes, into: &table, keepingRecords: true)
        #expect(ingested.records == (SyncMessageDecoder.decode(bytes).message?.connections ?? []))
    }

    @Test("entries for one connection go in in wire order: the last one wins, with or without options")
    func wireOrder() throws {
        var table = MirrorTable()
        let closing = ConnectionState(rawValue: 4)
        _ = Self.ingest(
            Self.v1([Self.tcp(1), Self.tcp(1, sequence: Self.sequence), Self.tcp(1, state: closing)]),
            into: &table
        )
        var stored = try #require(table.lookup(Self.tcp(1), now: Self.t0))
        #expect(table.count == 1)
        #expect(stored.stateName == "FIN_WAIT")
        #expect(stored.sequence == nil)

        _ = Self.ingest(Self.v1([Self.tcp(1, state: closing), Self.tcp(1, sequence: Self.sequence)]), into: &table)
        stored = try #require(table.lookup(Self.tcp(1), now: Self.t0))
        #expect(stored.stateName == "ESTABLISHED")
        #expect(stored.sequence == Self.sequence)
    }

    @Test(
        "the active director's and the standby's uses of one message end with the same findings and table",
        arguments: Array(messages.keys).sorted()
    )
    func bothSidesAgree(name: String) {
        let bytes = Self.messages[name]!
        // The capture side asks for no records; the standby asks for them when a message is longer than its
        // kernel takes.
        var source = MirrorTable()
        var sink = MirrorTable()
        var sinkTooLong = MirrorTable()
        let captured = Self.ingest(bytes, into: &source)
        let applied = Self.ingest(bytes, into: &sink)
        var appliedTooLong = Self.ingest(bytes, into: &sinkTooLong, keepingRecords: true)
        #expect(captured == applied)
        if captured.kind == .plain || captured.kind == .options { appliedTooLong.records = [] }
        #expect(captured == appliedTooLong)
        #expect(Self.rows(source) == Self.rows(sink))
        #expect(Self.rows(source) == Self.rows(sinkTooLong))
    }

    @Test(
        "what the active director forwards, the standby ingests into the same table",
        arguments: Array(messages.keys).sorted()
    )
    func forwardedThenApplied(name: String) throws {
        let bytes = Self.messages[name]!
        var source = MirrorTable()
        let captured = Self.ingest(bytes, into: &source)
        // The capture side's rule: the kernel's bytes when clean version 1, the records re-encoded otherwise.
        let forwarded: [[UInt8]]
        switch captured.kind {
        case .plain, .options: forwarded = [bytes]
        case .version0, .damaged:
            forwarded = try SyncMessagePacker(version: .v1, syncID: captured.syncID).pack(captured.records)
        case .dropped: forwarded = []
        }
        var sink = MirrorTable()
        for message in forwarded {
            let applied = Self.ingest(message, into: &sink)
            #expect(!applied.hasProblems)
            #expect(applied.kind == (captured.hasOptions ? .options : .plain))
        }
        #expect(Self.rows(source) == Self.rows(sink))
    }

    @Test("a real kernel master's capture goes in as the decoder reads it", arguments: [1, 0])
    func kernelCapture(version: Int) throws {
        let file = KernelCaptureMirrorTests.fixtures.appendingPathComponent("v\(version)/sync.hex")
        let hex = try String(contentsOf: file, encoding: .utf8)
        var ingestedTable = MirrorTable()
        var visitedTable = MirrorTable()
        var kinds: [IngestedSyncMessage.Kind: Int] = [:]
        for message in HexMessages.parse(hex).messages {
            let ingested = Self.ingest(message.bytes, into: &ingestedTable)
            kinds[ingested.kind, default: 0] += 1
            #expect(!ingested.hasProblems)
            var problems: [SyncWireError] = []
            message.bytes.withUnsafeBytes { buffer in
                _ = SyncMessageDecoder.visit(buffer, problems: &problems) { visitedTable.upsert(copy $0, now: Self.t0) }
            }
        }
        #expect(
            Set(ingestedTable.snapshot(now: Self.t0).map(\.connection))
                == Set(visitedTable.snapshot(now: Self.t0).map(\.connection))
        )
        #expect(ingestedTable.count == visitedTable.count)
        if version == 0 {
            #expect(kinds.keys.allSatisfy { $0 == .version0 })
        } else {
            #expect(kinds.keys.allSatisfy { $0 == .plain || $0 == .options })
            #expect(kinds[.options, default: 0] > 0)
        }
    }
}
