import NIOCore
import PeerProtocol
import SwiftProtobuf
import Testing

@testable import PeerProtocol

@Suite("Peer frames: encoding, limits, damaged input")
struct FrameCodecTests {
    static let samples: [PeerMessage] = [
        .hello(
            .init(
                node: "dira",
                syncID: 9,
                role: .sender,
                position: .init(streamID: 0xfeed, sequence: 42),
                heartbeatInterval: .milliseconds(100),
                maximumFrameLength: 1 << 20
            )
        ),
        .resume(.init(streamID: 7, nextSequence: 43)),
        .snapshotBegin(
            .init(streamID: 7, baseSequence: 42, entries: 1_000_000, reason: "the receiver has no stream yet")
        ),
        .snapshotChunk(.init(messages: ByteBuffer(bytes: [0, 9, 0, 8, 0, 1, 0, 0]), entries: 0)),
        .snapshotEnd(.init(entries: 1_000_000)),
        .batch(
            .init(
                sequence: 43,
                messages: ByteBuffer(bytes: Array(repeating: 0xab, count: 300)),
                entries: 8,
                capturedAtUnixNanoseconds: 1
            )
        ),
        .ack(.init(position: .init(streamID: 7, sequence: 43), appliedBytes: 300)),
        .heartbeat(.init(sequence: 43, sentAtUnixNanoseconds: 1_764_000_000_000_000_000)),
        .goodbye(reason: "shutting down"),
        // The kernel's count is optional: not read yet (nil) is not an empty kernel (0).
        .advert(.init(node: "dirb", priority: 100, state: .standby, inSync: true, incarnation: 3, sequence: 9)),
        .advert(
            .init(
                node: "dirb",
                priority: 100,
                state: .standby,
                inSync: true,
                incarnation: 3,
                sequence: 10,
                tableSize: 0,
                kernelConnections: 0
            )
        ),
        .advert(
            .init(
                node: "dira",
                priority: 150,
                state: .active,
                inSync: true,
                incarnation: 1,
                sequence: 11,
                tableSize: 200_000,
                position: .init(streamID: 7, sequence: 43),
                kernelConnections: 200_037
            )
        ),
    ]

    func frame(_ message: PeerMessage) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try PeerFrameEncoder().encode(data: message, out: &buffer)
        return buffer
    }

    @Test("every message survives encoding and decoding", arguments: samples)
    func roundTrip(_ message: PeerMessage) throws {
        var buffer = try frame(message)
        var decoder = PeerFrameDecoder()
        #expect(try decoder.decode(buffer: &buffer) == message)
        #expect(buffer.readableBytes == 0)
    }

    @Test("a frame split anywhere waits for the rest")
    func splitFrames() throws {
        let whole = try frame(Self.samples[5])
        for cut in 0..<whole.readableBytes {
            var decoder = PeerFrameDecoder()
            var first = whole.getSlice(at: 0, length: cut)!
            #expect(try decoder.decode(buffer: &first) == nil)
            var all = whole
            #expect(try decoder.decode(buffer: &all) == Self.samples[5])
        }
    }

    @Test("a 4 GiB length prefix is refused from its 4 bytes alone")
    func hugePrefix() {
        var decoder = PeerFrameDecoder(maximumFrameLength: 1 << 20)
        var buffer = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff])
        #expect(throws: PeerProtocolError(.frameTooLarge(length: 0xffff_ffff, maximum: 1 << 20))) {
            try decoder.decode(buffer: &buffer)
        }
    }

    @Test("an empty frame is refused")
    func emptyFrame() {
        var decoder = PeerFrameDecoder()
        var buffer = ByteBuffer(bytes: [0, 0, 0, 0])
        #expect(throws: PeerProtocolError(.malformedFrame("an empty frame"))) { try decoder.decode(buffer: &buffer) }
    }

    @Test("values protobuf accepts but the protocol does not are refused with the reason")
    func semanticChecks() throws {
        func refusal(_ frame: Lvsync_Peer_V1_Frame) -> String? {
            do {
                _ = try PeerMessage(serializedBytes: try frame.serializedBytes())
                return nil
            } catch {
                return (error as? PeerProtocolError)?.description
            }
        }
        var hello = Lvsync_Peer_V1_Frame()
        hello.hello = .with {
            $0.node = "dira"
            $0.syncID = 300
            $0.role = .sender
        }
        #expect(refusal(hello) == "a frame is not a peer protocol message: hello has sync ID 300")
        hello.hello.syncID = 9
        hello.hello.role = .unspecified
        #expect(refusal(hello) == "a frame is not a peer protocol message: hello has no role")
        var batch = Lvsync_Peer_V1_Frame()
        batch.batch = .with { $0.sequence = 0 }
        #expect(refusal(batch) == "a frame is not a peer protocol message: batch 0")
        #expect(refusal(Lvsync_Peer_V1_Frame()) == "a frame is not a peer protocol message: an empty frame")
    }

    @Test("random bytes and damaged frames never trap: each decodes or is refused with a PeerProtocolError")
    func damagedInput() throws {
        var random = SplitMix(seed: 0x1f5)
        var inputs: [[UInt8]] = []
        for _ in 0..<20_000 {
            let length = Int(random.next() % 64)
            inputs.append((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        for message in Self.samples {
            let good = Array(try frame(message).readableBytesView)
            for _ in 0..<2_000 {
                var damaged = good
                for _ in 0...(random.next() % 4) {
                    let at = Int(random.next() % UInt64(damaged.count))
                    damaged[at] = UInt8(truncatingIfNeeded: random.next())
                }
                inputs.append(damaged)
            }
        }
        var refused = 0
        for input in inputs {
            var decoder = PeerFrameDecoder(maximumFrameLength: 4096)
            var buffer = ByteBuffer(bytes: input)
            do {
                while try decoder.decode(buffer: &buffer) != nil {}
            } catch is PeerProtocolError {
                refused += 1
            }
        }
        #expect(refused > 1_000, "damage is noticed")
    }
}

/// A small seeded generator, so that the damaged inputs are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
