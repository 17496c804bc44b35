import Control
import Foundation
import NIOCore
import Testing

@testable import Control

/// A small seeded generator (SplitMix64): the same seed gives the same inputs, so a failure names its case.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Random bytes at the request decoder: refused with a sentence, never a crash")
struct RequestFuzzTests {
    static let seeds: [UInt64] = [1, 2, 3, 42, 2026]

    /// Valid requests and JSON fragments to damage and splice.
    static let corpus: [String] = [
        #"{"command":"status"}"#, #"{"arguments":{"follow":true,"interval_seconds":1},"command":"stats"}"#,
        #"{"command":"conns","arguments":{"vip":"10.0.0.100","service":"tcp:[fd00::100]:443"}}"#,
        #"{"command":"drill","arguments":{"force":false}}"#, #"{"command":"x","arguments":null}"#,
        #"[1,2.5,-3e4,"\u00e9\ud83d\ude00",{"a":[null,true]}]"#, #""\\\"\/\b\f\n\r\t""#, "  ", "{}", "[]",
    ]

    /// Bytes that matter to JSON, to insert.
    static let tokens = Array("{}[]\",:\\0-.eE+tfn \n".utf8)

    /// One input: random bytes, a damaged corpus line, or a splice of corpus pieces.
    static func input(_ generator: inout SplitMix64) -> [UInt8] {
        switch generator.next() % 3 {
        case 0:
            return (0..<Int(generator.next() % 96)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        case 1:
            var bytes = Array(corpus[Int(generator.next() % UInt64(corpus.count))].utf8)
            for _ in 0...Int(generator.next() % 4) where !bytes.isEmpty {
                let at = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.remove(at: at)
                default: bytes.insert(Self.tokens[Int(generator.next() % UInt64(Self.tokens.count))], at: at)
                }
            }
            return bytes
        default:
            let first = Array(corpus[Int(generator.next() % UInt64(corpus.count))].utf8)
            let second = Array(corpus[Int(generator.next() % UInt64(corpus.count))].utf8)
            return Array(first.prefix(Int(generator.next() % UInt64(first.count + 1))))
                + Array(second.suffix(Int(generator.next() % UInt64(second.count + 1))))
        }
    }

    @Test(
        "a request line of random bytes is a request with a command, or refused as malformed with a sentence",
        arguments: seeds
    )
    func requests(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var accepted = 0
        for _ in 0..<2000 {
            let bytes = Self.input(&generator)
            do {
                let request = try ControlRequest(jsonLine: bytes)
                accepted += 1
                #expect(!request.command.isEmpty)
                #expect(try ControlRequest(line: request.jsonText) == request, "\(bytes)")
            } catch {
                #expect(error.kind == .malformed, "\(bytes)")
                #expect(error.message.hasPrefix("the request"), "\(bytes): \(error.message)")
            }
        }
        #expect(accepted > 0)
    }

    @Test("any JSON Foundation reads prints as text that reads back the same", arguments: seeds)
    func values(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        for _ in 0..<2000 {
            let bytes = Self.input(&generator)
            guard let value = try? JSONValue(jsonData: Data(bytes)) else { continue }
            #expect(try JSONValue(jsonText: value.jsonText) == value, "\(bytes)")
        }
    }

    @Test(
        "random bytes in random chunks: every line the decoder gives is within the bound, newline-free",
        arguments: seeds
    )
    func lines(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for _ in 0..<200 {
            var decoder = ControlLineDecoder(maximumLength: 40, subject: "a line", acceptsUnterminatedLastLine: true)
            var buffer = ByteBuffer()
            var total = 0
            do {
                for _ in 0..<Int(generator.next() % 20) {
                    let chunk = (0..<Int(generator.next() % 30)).map { _ in
                        generator.next() % 4 == 0 ? UInt8(ascii: "\n") : UInt8(truncatingIfNeeded: generator.next())
                    }
                    total += chunk.count
                    buffer.writeBytes(chunk)
                    while let line = try decoder.nextLine(from: &buffer) {
                        #expect(line.readableBytes <= 40 && !line.readableBytesView.contains(UInt8(ascii: "\n")))
                    }
                }
                if let line = try decoder.lastLine(from: &buffer) { #expect(line.readableBytes <= 40) }
            } catch {
                #expect(error.message == "a line is longer than 40 bytes without a newline")
            }
            #expect(total >= 0)
        }
    }
}
