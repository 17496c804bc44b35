import LVSyncTestSupport
import SyncWire

/// Measures decode and encode of version 1 sync messages: full kernel-sized messages (1472 bytes) of a realistic
/// mix of entries. Decode is the relay's path (`SyncMessageDecoder.visitEntries`: every kernel check, each entry's
/// fixed part handed to a consumer that reads it); encode writes those entries back into a reused buffer
/// (`SyncMessageEncoder.writeV1`); the round trip decodes each message straight into a `SyncMessageWriter`.
/// The rich path (`SyncConnection` values in arrays), which the tools use, is measured too.
public struct CodecBenchmark: Sendable {
    /// Results, in entries per second.
    public struct Result: Sendable {
        /// Distinct messages cycled through.
        public var messages: Int
        /// Average entries in a message.
        public var entriesPerMessage: Double
        /// The relay's decode (`visitEntries`).
        public var decodeEntriesPerSecond: Double
        /// The relay's encode (`writeV1`).
        public var encodeEntriesPerSecond: Double
        /// Decode then encode of each message, counted once per entry.
        public var roundTripEntriesPerSecond: Double
        /// Decode into `[SyncConnection]` and encode from it: the tools' path.
        public var richDecodeEntriesPerSecond: Double
        /// Encode from `[SyncConnection]`.
        public var richEncodeEntriesPerSecond: Double
        /// A sum over decoded fields, printed so the work cannot be optimised away.
        public var checksum: UInt64
    }

    /// Distinct messages to cycle through.
    public var messageCount: Int
    /// Seconds each measurement runs for, at least.
    public var minimumSeconds: Double

    /// Given messages to measure on instead of generated ones (`lvsync bench codec --hex FILE`: the same bytes
    /// another decoder is measured on).
    public var input: [[UInt8]]?

    /// Creates the benchmark.
    public init(messageCount: Int = 2048, minimumSeconds: Double = 2, input: [[UInt8]]? = nil) {
        self.messageCount = messageCount
        self.minimumSeconds = minimumSeconds
        self.input = input
    }

    /// Runs every measurement.
    public func run() throws -> Result {
        let messages: [[UInt8]]
        if let input {
            // Only what decodes: a message the decoder drops whole would measure nothing.
            messages = input.filter { SyncMessageDecoder.decode($0).message != nil }
            guard !messages.isEmpty else { throw BenchError("no message of the input decodes") }
        } else {
            var generator = SyntheticConnections()
            let connections = (0..<(messageCount * 45)).map { generator.connection($0) }
            let packed = try SyncMessagePacker(version: .v1, syncID: 9).pack(connections)
            messages = Array(packed.prefix(messageCount))
        }
        let decodedMessages = messages.map { SyncMessageDecoder.decode($0).message! }
        let entryMessages = decodedMessages.map { $0.connections.map { $0.entry! } }
        let totalEntries = decodedMessages.reduce(0) { $0 + $1.connections.count }
        var checksum: UInt64 = 0
        var problems: [SyncWireError] = []
        var output = [UInt8](repeating: 0, count: 65536)

        let decodeRate = measure(entriesPerPass: totalEntries) {
            for message in messages {
                _ = message.withUnsafeBytes { buffer in
                    SyncMessageDecoder.visitEntries(buffer, problems: &problems) { entry, _ in
                        checksum &+= UInt64(entry.clientPort) &+ UInt64(entry.timeout)
                    }
                }
            }
        }

        let encodeRate = measure(entriesPerPass: totalEntries) {
            output.withUnsafeMutableBytes { buffer in
                for entries in entryMessages {
                    entries.withUnsafeBufferPointer { entries in
                        checksum &+= UInt64(SyncMessageEncoder.writeV1(syncID: 9, entries: entries, into: buffer))
                    }
                }
            }
        }

        let roundTripRate = measure(entriesPerPass: totalEntries) {
            output.withUnsafeMutableBytes { out in
                for message in messages {
                    message.withUnsafeBytes { buffer in
                        var writer = SyncMessageWriter(syncID: 9, into: out)
                        SyncMessageDecoder.visitEntries(buffer, problems: &problems) { entry, _ in
                            _ = writer.append(entry)
                        }
                        checksum &+= UInt64(writer.finish())
                    }
                }
            }
        }

        var decoded: [SyncConnection] = []
        decoded.reserveCapacity(256)
        let richDecodeRate = measure(entriesPerPass: totalEntries) {
            for message in messages {
                message.withUnsafeBytes { buffer in
                    decoded.removeAll(keepingCapacity: true)
                    _ = SyncMessageDecoder.decode(buffer, into: &decoded, problems: &problems)
                    checksum &+= UInt64(decoded.count)
                }
            }
        }
        let richEncodeRate = measure(entriesPerPass: totalEntries) {
            output.withUnsafeMutableBytes { buffer in
                for message in decodedMessages {
                    checksum &+= UInt64(SyncMessageEncoder.write(message, into: buffer))
                }
            }
        }
        return Result(
            messages: messages.count,
            entriesPerMessage: Double(totalEntries) / Double(messages.count),
            decodeEntriesPerSecond: decodeRate,
            encodeEntriesPerSecond: encodeRate,
            roundTripEntriesPerSecond: roundTripRate,
            richDecodeEntriesPerSecond: richDecodeRate,
            richEncodeEntriesPerSecond: richEncodeRate,
            checksum: checksum
        )
    }

    /// Runs `pass` until `minimumSeconds` have gone by (after one warm-up pass); returns entries per second.
    private func measure(entriesPerPass: Int, _ pass: () -> Void) -> Double {
        pass()
        let clock = ContinuousClock()
        var passes = 0
        let start = clock.now
        var elapsed = Duration.zero
        repeat {
            pass()
            passes += 1
            elapsed = clock.now - start
        } while elapsed < .seconds(minimumSeconds)
        return Double(passes * entriesPerPass) / elapsed.seconds
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
