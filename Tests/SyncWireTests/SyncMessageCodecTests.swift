import SyncWire
import Testing

@Suite("Sync message codec")
struct SyncMessageCodecTests {
    /// The 44-byte example built from the kernel's struct definitions (research/kernel-ipvs.md §3.4).
    static let exampleBytes = Sample.hex(
        "0005002c01010000 0006002400000083 00019c4000500050 0000000000000384 c000020ac6336401 0a00000b"
    )

    @Test("decodes the documented version 1 example field by field")
    func decodesExample() throws {
        let decoded = SyncMessageDecoder.decode(Self.exampleBytes)
        #expect(decoded.isClean)
        let message = try #require(decoded.message)
        #expect(message.version == .v1)
        #expect(message.syncID == 5)
        #expect(message.connections == [Sample.tcpDirectRoute])
        let c = message.connections[0]
        #expect(c.client.description == "192.0.2.10:40000")
        #expect(c.virtual.description == "198.51.100.1:80")
        #expect(c.destination.description == "10.0.0.11:80")
        #expect(c.forwardingMethod == .directRoute)
        #expect(c.flags.contains(.noOutput))
        #expect(c.stateName == "ESTABLISHED")
        #expect(c.timeout == 900)
    }

    @Test("encodes the documented example byte for byte")
    func encodesExample() throws {
        let bytes = try SyncMessageEncoder.encode(
            SyncMessage(version: .v1, syncID: 5, connections: [Sample.tcpDirectRoute])
        )
        #expect(bytes == Self.exampleBytes)
    }

    @Test("version 1 round trip", arguments: Sample.all)
    func v1RoundTrip(connection: SyncConnection) throws {
        let bytes = Sample.v1([connection])
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(decoded.problems.isEmpty)
        #expect(decoded.message?.connections == [connection])
        #expect(try SyncMessageEncoder.encode(decoded.message!) == bytes)
    }

    @Test("a message with every kind of entry pads entries to 4 bytes but not the last")
    func paddingRules() throws {
        let bytes = Sample.v1([Sample.sipTemplate, Sample.tcpDirectRoute, Sample.sipTemplate])
        // 72-byte base + PE_DATA (2 + 36) + PE_NAME (2 + 3) = 79 bytes, padded to 80 before the next entry.
        let sipLength = 36 + 2 + 36 + 2 + 3
        #expect(bytes.count == 8 + 80 + 36 + sipLength)
        #expect(Array(bytes[(8 + sipLength)..<(8 + 80)]) == [0])
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(decoded.isClean)
        #expect(decoded.message?.connections == [Sample.sipTemplate, Sample.tcpDirectRoute, Sample.sipTemplate])
    }

    @Test("option order on the wire is SEQ_DATA, PE_DATA, PE_NAME")
    func optionOrder() {
        var entry = Sample.sipTemplate
        entry.sequence = Sample.tcpWithSequence.sequence
        let bytes = Sample.v1([entry])
        #expect(bytes[8 + 36] == 1)
        #expect(bytes[8 + 36 + 1] == 24)
        #expect(bytes[8 + 36 + 26] == 2)
        #expect(bytes[8 + 36 + 26 + 2 + 36] == 3)
        #expect(SyncMessageDecoder.decode(bytes).message?.connections == [entry])
    }

    @Test("unknown optional options are kept and re-encoded in place")
    func unknownOptionalOption() throws {
        var entry = Sample.tcpDirectRoute
        entry.unknownOptions = [UnknownSyncOption(type: 0x40 | 9, payload: [1, 2, 3])]
        let bytes = Sample.v1([entry])
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(decoded.isClean)
        #expect(decoded.message?.connections.first?.unknownOptions == entry.unknownOptions)
        #expect(try SyncMessageEncoder.encode(decoded.message!) == bytes)
    }

    @Test("version 0 round trip, with and without the sequence block")
    func v0RoundTrip() throws {
        var plain = Sample.tcpDirectRoute
        plain.timeout = nil
        plain.fwmark = nil
        var sequenced = Sample.tcpWithSequence
        sequenced.timeout = nil
        sequenced.fwmark = nil
        let message = SyncMessage(version: .v0, syncID: 3, connections: [plain, sequenced])
        let bytes = try SyncMessageEncoder.encode(message)
        #expect(bytes.count == 4 + 24 + 48)
        #expect(bytes[0] == 2)
        #expect(bytes[1] == 3)
        let decoded = SyncMessageDecoder.decode(bytes)
        #expect(decoded.isClean)
        #expect(decoded.message == message)
        #expect(try SyncMessageEncoder.encode(decoded.message!) == bytes)
    }

    @Test("version 0 drops timeout and fwmark as the kernel's v0 sender does, and refuses what it cannot carry")
    func v0Limits() throws {
        let withTimeout = SyncMessage(version: .v0, syncID: 1, connections: [Sample.tcpDirectRoute])
        let decoded = SyncMessageDecoder.decode(try SyncMessageEncoder.encode(withTimeout))
        #expect(decoded.message?.connections.first?.timeout == nil)
        #expect(decoded.message?.connections.first?.client == Sample.tcpDirectRoute.client)

        for (entry, reason) in [
            (Sample.tcp6NAT, SyncWireError.Reason.notRepresentableInV0("IPv6 entries")),
            (Sample.sipTemplate, .notRepresentableInV0("persistence data")),
        ] {
            #expect(throws: SyncWireError(reason, entryIndex: 0)) {
                try SyncMessageEncoder.encode(SyncMessage(version: .v0, syncID: 1, connections: [entry]))
            }
        }
    }

    @Test("the packer fills messages up to the length limit and 255 entries")
    func packer() throws {
        let entries = (0..<100).map { i in
            var c = Sample.tcpDirectRoute
            c.client.port = UInt16(10000 + i)
            return c
        }
        let messages = try SyncMessagePacker(version: .v1, syncID: 9).pack(entries)
        // (1472 - 8) / 36 = 40 entries per default-sized message, as the kernel's master packs them.
        #expect(messages.map { SyncMessageDecoder.decode($0).message!.connections.count } == [40, 40, 20])
        #expect(messages.allSatisfy { $0.count <= 1472 })
        let back = messages.flatMap { SyncMessageDecoder.decode($0).message!.connections }
        #expect(back == entries)

        let many = try SyncMessagePacker(version: .v1, syncID: 9, maximumLength: 65000).pack(
            entries + entries + entries
        )
        #expect(many.map { SyncMessageDecoder.decode($0).message!.connections.count } == [255, 45])
    }

    @Test("encoding refuses entries the wire cannot carry")
    func encoderRejections() {
        var mixed = Sample.tcpDirectRoute
        mixed.destination = Endpoint(Sample.v6("fd00::1"), 80)
        var longData = Sample.sipTemplate
        longData.persistence = PersistenceData(engine: "sip", data: Array(repeating: 0x41, count: 256))
        var longName = Sample.sipTemplate
        longName.persistence = PersistenceData(engine: String(repeating: "x", count: 17), data: [1])
        var noName = Sample.sipTemplate
        noName.persistence = PersistenceData(engine: "", data: [1])
        let cases: [(SyncConnection, SyncWireError.Reason)] = [
            (mixed, .mixedAddressFamilies),
            (longData, .persistenceDataLength(256)),
            (longName, .persistenceNameLength(17)),
            (noName, .persistenceNameLength(0)),
        ]
        for (entry, reason) in cases {
            #expect(throws: SyncWireError(reason, entryIndex: 1)) {
                try SyncMessageEncoder.encode(
                    SyncMessage(version: .v1, syncID: 1, connections: [Sample.udpNAT, entry])
                )
            }
        }
        #expect(throws: SyncWireError(.tooManyEntries(256))) {
            try SyncMessageEncoder.encode(
                SyncMessage(version: .v1, syncID: 1, connections: Array(repeating: Sample.udpNAT, count: 256))
            )
        }
    }

    @Test("names of states as /proc prints them")
    func stateNames() {
        #expect(Sample.udpNAT.stateName == "UDP")
        #expect(Sample.sipTemplate.stateName == "NONE")
        #expect(Sample.fwmarkTemplate.stateName == "NONE")
        #expect(Sample.sctp.stateName == "ESTABLISHED")
        var assured = Sample.sipTemplate
        assured.state = .templateAssured
        #expect(assured.stateName == "ASSURED")
        #expect(ConnectionState(name: "SYN_RECV", protocol: .tcp, template: false)?.rawValue == 3)
        #expect(ConnectionState(rawValue: 11).name(protocol: .tcp, template: false) == "ERR!")
    }
}
