import SyncWire
import Testing

/// Every rejection path of the kernel's receiver (research/kernel-ipvs.md §3.6): each names the entry and the
/// reason, keeps the entries already accepted, and has the consequence the kernel gives it.
@Suite("Sync message rejections")
struct SyncMessageRejectionTests {
    /// A clean three-entry message to damage: TCP (36 bytes at 8), SIP template (79 bytes at 44), UDP (36 at 124).
    static let base = Sample.v1([Sample.tcpDirectRoute, Sample.sipTemplate, Sample.udpNAT])
    static let sipStart = 44
    static let udpStart = 124

    static func damaged(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = base
        change(&bytes)
        return bytes
    }

    /// Sets the header's size to the buffer's length.
    static func fixSize(_ bytes: inout [UInt8]) {
        bytes[2] = UInt8(bytes.count >> 8)
        bytes[3] = UInt8(bytes.count & 0xff)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var reason: SyncWireError.Reason
        var entryIndex: Int?
        var consequence: SyncWireError.Consequence
        var accepted: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "header shorter than 4 bytes",
            bytes: [0, 9, 0],
            reason: .headerTooShort(length: 3),
            entryIndex: nil,
            consequence: .messageDropped,
            accepted: 0
        ),
        Case(
            name: "size field disagrees with the datagram",
            bytes: Array(base.dropLast()),
            reason: .sizeMismatch(headerSize: base.count, actualLength: base.count - 1),
            entryIndex: nil,
            consequence: .messageDropped,
            accepted: 0
        ),
        Case(
            name: "entry count runs past the end",
            bytes: damaged { $0[4] = 4 },
            reason: .entryPastEnd(offset: 160, needed: 36, available: 0),
            entryIndex: 3,
            consequence: .restDropped,
            accepted: 3
        ),
        Case(
            name: "entry size runs past the end",
            bytes: damaged { $0[udpStart + 3] = 40 },
            reason: .entrySizeBeyondMessage(offset: udpStart, entrySize: 40, messageLength: 160),
            entryIndex: 2,
            consequence: .restDropped,
            accepted: 2
        ),
        Case(
            name: "unknown entry format version",
            bytes: damaged { $0[sipStart + 2] |= 0x10 },
            reason: .unknownEntryVersion(1),
            entryIndex: 1,
            consequence: .restDropped,
            accepted: 1
        ),
        Case(
            name: "unknown entry type",
            bytes: damaged { $0[8] = 2 },
            reason: .unknownEntryType(2),
            entryIndex: 0,
            consequence: .restDropped,
            accepted: 0
        ),
        Case(
            name: "IPv6 type in a 36-byte entry",
            bytes: damaged { $0[8] = 1 },
            reason: .entrySizeTooSmall(entrySize: 36, minimum: 72),
            entryIndex: 0,
            consequence: .restDropped,
            accepted: 0
        ),
        Case(
            name: "zero-length option",
            bytes: damaged { $0[sipStart + 37] = 0 },
            reason: .zeroLengthOption(type: 2),
            entryIndex: 1,
            consequence: .restDropped,
            accepted: 1
        ),
        Case(
            name: "option running past the end of the entry",
            bytes: damaged { $0[sipStart + 37] = 200 },
            reason: .optionPastEnd(type: 2, length: 200),
            entryIndex: 1,
            consequence: .restDropped,
            accepted: 1
        ),
        Case(
            name: "duplicated option",
            bytes: damaged { $0[sipStart + 36 + 2 + 36] = 2 },
            reason: .duplicateOption(type: 2),
            entryIndex: 1,
            consequence: .restDropped,
            accepted: 1
        ),
        Case(
            name: "option payload cut by the entry size",
            // Shrink the SIP entry by 2 bytes: PE_NAME's 3-byte payload then runs past the entry's end.
            bytes: damaged { $0[sipStart + 3] -= 2 },
            reason: .optionPastEnd(type: 3, length: 3),
            entryIndex: 1,
            consequence: .restDropped,
            accepted: 1
        ),
        Case(
            name: "option header cut by the entry size",
            // Shrink it by 4: only PE_NAME's type byte is left inside the entry.
            bytes: damaged { $0[sipStart + 3] -= 4 },
            reason: .optionHeaderPastEnd,
            entryIndex: 1,
            consequence: .restDropped,
            accepted: 1
        ),
        Case(
            name: "unknown mandatory option",
            bytes: damaged { $0[sipStart + 36] = 9 },
            reason: .unknownMandatoryOption(type: 9),
            entryIndex: 1,
            consequence: .entrySkipped,
            accepted: 2
        ),
        Case(
            name: "PE_DATA without PE_NAME",
            bytes: damaged { $0[sipStart + 36 + 2 + 36] = 0x40 | 12 },
            reason: .persistenceDataWithoutName,
            entryIndex: 1,
            consequence: .entrySkipped,
            accepted: 2
        ),
        Case(
            name: "protocol without an IPVS handler",
            bytes: damaged { $0[9] = 47 },
            reason: .unsupportedProtocol(47),
            entryIndex: 0,
            consequence: .entrySkipped,
            accepted: 2
        ),
        Case(
            name: "TCP state out of range",
            bytes: damaged { $0[8 + 9] = 11 },
            reason: .invalidState(state: 11, protocolName: "TCP"),
            entryIndex: 0,
            consequence: .entrySkipped,
            accepted: 2
        ),
        Case(
            name: "bytes after the last entry",
            bytes: {
                var b = base + [0, 0, 0, 0, 0]; fixSize(&b); return b
            }(),
            reason: .trailingBytes(count: 5),
            entryIndex: 3,
            consequence: .notApplicable,
            accepted: 3
        ),
    ]

    @Test("each rejection names its entry and reason and keeps what was accepted", arguments: cases)
    func rejection(_ c: Case) {
        let decoded = SyncMessageDecoder.decode(c.bytes)
        #expect(decoded.problems.count == 1)
        let problem = decoded.problems.first
        #expect(problem?.reason == c.reason)
        #expect(problem?.entryIndex == c.entryIndex)
        #expect(problem?.consequence == c.consequence)
        #expect((decoded.message?.connections.count ?? 0) == c.accepted)
        if let problem, c.entryIndex != nil {
            #expect(problem.description.hasPrefix("entry \(c.entryIndex!): "))
        }
    }

    @Test("PE_NAME longer than 16 bytes is rejected")
    func longEngineName() {
        var entry = Sample.sipTemplate
        entry.persistence = PersistenceData(engine: "sip", data: [0x41])
        var bytes = Sample.v1([entry])
        // Rebuild PE_NAME with 17 bytes by hand: the encoder itself refuses such a name.
        let nameAt = 8 + 36 + 3
        bytes.replaceSubrange(nameAt..<bytes.count, with: [3, 17] + Array(repeating: 0x61, count: 17))
        let size = bytes.count - 8
        bytes[8 + 2] = UInt8(size >> 8)
        bytes[8 + 3] = UInt8(size & 0xff)
        Self.fixSize(&bytes)
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(decoded.problems.map(\.reason) == [.persistenceNameTooLong(length: 17)])
    }

    @Test("a SEQ_DATA option of the wrong length is rejected")
    func badSequenceLength() {
        var bytes = Sample.v1([Sample.tcpWithSequence])
        bytes[8 + 37] = 20
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(decoded.problems.first?.reason == .sequenceOptionLength(20))
    }

    @Test("a template with an out-of-range state is accepted, as the kernel only logs it")
    func templateStateOnlyLogged() {
        var template = Sample.sipTemplate
        template.state = ConnectionState(rawValue: 7)
        #expect(SyncMessageDecoder.decode(Sample.v1([template])).isClean)
    }

    @Test("a header that is not clean version 1 is read as version 0")
    func dirtyHeaderIsV0() {
        var bytes = Sample.v1([Sample.tcpDirectRoute])
        bytes[6] = 1
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(decoded.message?.version == .v0)
    }

    @Test("version 0 truncated entries and options drop the rest")
    func v0Truncation() throws {
        var plain = Sample.tcpDirectRoute
        plain.timeout = nil
        plain.fwmark = nil
        var bytes = try SyncMessageEncoder.encode(SyncMessage(version: .v0, syncID: 1, connections: [plain, plain]))
        bytes[0] = 3
        #expect(
            SyncMessageDecoder.decode(bytes).problems.map(\.reason) == [
                .entryPastEnd(offset: 52, needed: 24, available: 0)
            ]
        )
        bytes[0] = 2
        bytes[4 + 24 + 20] |= 0x02  // OUT_SEQ (0x0200) on the second entry: it now needs 48 bytes
        #expect(
            SyncMessageDecoder.decode(bytes).problems.map(\.reason) == [
                .entryPastEnd(offset: 28, needed: 48, available: 24)
            ]
        )
        #expect(SyncMessageDecoder.decode(bytes).message?.connections.count == 1)
    }

    @Test("errors name the message when the caller sets it")
    func messageIndexInDescription() {
        var error = SyncWireError(.duplicateOption(type: 2), entryIndex: 2)
        error.messageIndex = 3
        #expect(error.description == "message 3 entry 2: option PE_DATA appears twice")
    }
}
