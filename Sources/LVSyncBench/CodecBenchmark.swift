import SyncWire

/// Measures decode and encode of version 1 sync messages: full kernel-sized messages (1472 bytes) of a realistic
/// mix of entries, decoded with the allocation-free decoder into a reused array and encoded into a reused buffer.
public struct CodecBenchmark: Sendable {
    /// Results, in entries per second.
    public struct Result: Sendable {
        public var messages: Int
        public var entriesPerMessage: Double
        public var decodeEntriesPerSecond: Double
        public var encodeEntriesPerSecond: Double
        /// Decode then encode of each message, counted once per entry.
        public var roundTripEntriesPerSecond: Double
        /// A sum over decoded fields, printed so the work cannot be optimised away.
        public var checksum: UInt64
    }

    public var messageCount: Int
    public var minimumSeconds: Double

    public init(messageCount: Int = 2048, minimumSeconds: Double = 2) {
        self.messageCount = messageCount
        self.minimumSeconds = minimumSeconds
    }

    public func run() throws -> Result {
        var generator = SyntheticConnections()
        let connections = (0..<(messageCount * 45)).map { generator.connection($0) }
        let packed = try SyncMessagePacker(version: .v1, syncID: 9).pack(connections)
        let messages = Array(packed.prefix(messageCount))
        let decodedMessages = messages.map { SyncMessageDecoder.decode($0).message! }
        let totalEntries = decodedMessages.reduce(0) { $0 + $1.connections.count }
        var checksum: UInt64 = 0

        var decoded: [SyncConnection] = []
        decoded.reserveCapacity(64)
        var problems: [SyncWireError] = []
        let decodeRate = measure(entriesPerPass: totalEntries) {
            for message in messages {
                message.withUnsafeBytes { buffer in
                    decoded.removeAll(keepingCapacity: true)
                    _ = SyncMessageDecoder.decode(buffer, into: &decoded, problems: &problems)
                    for i in decoded.indices {
                        checksum &+= UInt64(decoded[i].client.port) &+ UInt64(decoded[i].timeout ?? 0)
                    }
                }
            }
        }

        var output = [UInt8](repeating: 0, count: 65536)
        let encodeRate = measure(entriesPerPass: totalEntries) {
            output.withUnsafeMutableBytes { buffer in
                for message in decodedMessages {
                    checksum &+= UInt64(SyncMessageEncoder.write(message, into: buffer))
                }
            }
        }

        let roundTripRate = measure(entriesPerPass: totalEntries) {
            output.withUnsafeMutableBytes { out in
                for message in messages {
                    message.withUnsafeBytes { buffer in
                        decoded.removeAll(keepingCapacity: true)
                        if let header = SyncMessageDecoder.decode(buffer, into: &decoded, problems: &problems) {
                            let m = SyncMessage(version: header.version, syncID: header.syncID, connections: decoded)
                            checksum &+= UInt64(SyncMessageEncoder.write(m, into: out))
                        }
                    }
                }
            }
        }
        return Result(
            messages: messages.count,
            entriesPerMessage: Double(totalEntries) / Double(messages.count),
            decodeEntriesPerSecond: decodeRate,
            encodeEntriesPerSecond: encodeRate,
            roundTripEntriesPerSecond: roundTripRate,
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
