import PropertyBased
import SyncWire
import Testing

/// Properties of the codec over generated entries and damaged messages.
@Suite("Codec properties")
struct PropertyTests {
    /// Entries built from random words: any protocol, flags, state, ports, addresses of one family, and now and
    /// then persistence data (templates) or sequence data.
    static let connection = zip(Gen.bool(), Gen.uint64(), Gen.uint64(), Gen.uint64(), Gen.uint64(), Gen.int(in: 0...3))
        .map { ipv6, r1, r2, r3, r4, shape -> SyncConnection in
            func address(_ n: UInt64) -> IPAddress {
                ipv6
                    ? .v6(IPv6Address(high: n &* 0x9e37_79b9_7f4a_7c15, low: n))
                    : .v4(IPv4Address(UInt32(truncatingIfNeeded: n)))
            }
            let proto = UInt8(truncatingIfNeeded: r1)
            var c = SyncConnection(
                ipProtocol: [IPProtocol.tcp, .udp, .sctp, .ip, IPProtocol(rawValue: proto)][Int(proto) % 5],
                client: Endpoint(address(r4), UInt16(truncatingIfNeeded: r2)),
                virtual: Endpoint(address(r4 >> 7 ^ r3), UInt16(truncatingIfNeeded: r2 >> 16)),
                destination: Endpoint(address(r4 >> 13 ^ r2), UInt16(truncatingIfNeeded: r2 >> 32)),
                flags: ConnectionFlags(rawValue: UInt32(truncatingIfNeeded: r1 >> 8) & ~0x0600),
                state: ConnectionState(rawValue: UInt16(truncatingIfNeeded: r1 >> 40) % 16),
                timeout: UInt32(truncatingIfNeeded: r3),
                fwmark: UInt32(truncatingIfNeeded: r3 >> 32)
            )
            if shape == 1 {
                c.flags.insert(.template)
                c.persistence = PersistenceData(engine: "sip", data: Array("call-\(r3)@example".utf8))
            } else if shape == 2 {
                c.flags.insert(.inSequence)
                c.sequence = SequenceOptions(
                    inbound: SequenceAdjustment(
                        initialSequence: UInt32(truncatingIfNeeded: r2),
                        delta: 1,
                        previousDelta: 2
                    ),
                    outbound: SequenceAdjustment(
                        initialSequence: UInt32(truncatingIfNeeded: r3),
                        delta: 3,
                        previousDelta: 4
                    )
                )
            }
            return c
        }

    @Test("decode(encode(m)) gives back m's entries that the kernel accepts, and re-encodes to the same bytes")
    func roundTrip() async {
        await propertyCheck(count: 300, input: Self.connection.array(of: 1...40), Gen.uint8()) { connections, syncID in
            let message = SyncMessage(version: .v1, syncID: syncID, connections: connections)
            guard let bytes = try? SyncMessageEncoder.encode(message) else {
                // Only messages longer than the 16-bit size field may fail.
                #expect((try? SyncMessageEncoder.encodedLength(of: message)) == nil)
                return
            }
            let decoded = SyncMessageDecoder.decode(bytes)
            let kept = decoded.message?.connections ?? []
            let expected = connections.filter { c in
                c.isTemplate || (c.ipProtocol.ipvsStateCount.map { c.state.rawValue < $0 } ?? false)
            }
            #expect(kept == expected)
            #expect(decoded.problems.allSatisfy { $0.consequence == .entrySkipped })
            if decoded.problems.isEmpty {
                #expect((try? SyncMessageEncoder.encode(decoded.message!)) == bytes)
            }
        }
    }

    @Test("damaged messages never trap; every problem is typed; decoding what was kept is stable")
    func damagedMessages() async {
        let base = Sample.v1([Sample.tcpDirectRoute, Sample.sipTemplate, Sample.tcp6NAT, Sample.tcpWithSequence])
        let damage = zip(Gen.int(in: 0...(base.count - 1)), Gen.uint8()).array(of: 1...6)
        await propertyCheck(count: 2000, input: damage, Gen.int(in: 0...base.count)) { changes, cut in
            var bytes = base
            for (offset, value) in changes { bytes[offset] = value }
            bytes = Array(bytes.prefix(cut))
            let decoded = SyncMessageDecoder.decode(bytes)
            if decoded.message == nil { #expect(decoded.problems.count == 1) }
            guard let message = decoded.message, let again = try? SyncMessageEncoder.encode(message) else { return }
            // What was accepted re-encodes into a message that decodes cleanly to the same entries.
            let second = SyncMessageDecoder.decode(again)
            #expect(second.problems.filter { $0.consequence != .entrySkipped }.isEmpty)
            #expect(second.message?.connections.count ?? 0 <= message.connections.count)
        }
    }

    @Test("random bytes never trap")
    func randomBytes() async {
        await propertyCheck(count: 3000, input: Gen.uint8().array(of: 0...300)) { bytes in
            var withSize = bytes
            if withSize.count >= 4 {
                withSize[2] = UInt8(withSize.count >> 8)
                withSize[3] = UInt8(withSize.count & 0xff)
            }
            for input in [bytes, withSize] {
                let decoded = SyncMessageDecoder.decode(input)
                for problem in decoded.problems { #expect(!problem.description.isEmpty) }
            }
        }
    }
}
