import NIOCore
import Testing

@testable import Control

@Suite("Cutting a control connection into lines: the bounded NIO decoder")
struct ControlLineDecoderTests {
    /// Feeds `chunks` as a `ByteToMessageHandler` does (appended to one buffer), collecting lines as text.
    static func lines(
        of chunks: [String],
        _ decoder: inout ControlLineDecoder,
        atEnd: Bool = false
    ) throws(ControlError) -> [String] {
        var buffer = ByteBuffer()
        var lines: [String] = []
        for chunk in chunks {
            buffer.writeString(chunk)
            while let line = try decoder.nextLine(from: &buffer) { lines.append(String(buffer: line)) }
        }
        if atEnd, let line = try decoder.lastLine(from: &buffer) { lines.append(String(buffer: line)) }
        return lines
    }

    @Test("lines split across chunks, several in one chunk, CRLF endings, an empty line")
    func lines() throws {
        var decoder = ControlLineDecoder(maximumLength: 16, subject: "a line", acceptsUnterminatedLastLine: true)
        let lines = try Self.lines(of: ["{\"a\"", ":1}\n{\"b\":2}\r\n{}\n", "\n", "tail"], &decoder, atEnd: true)
        #expect(lines == [#"{"a":1}"#, #"{"b":2}"#, "{}", "", "tail"])
    }

    @Test("at the end, the bytes after the last newline are a line only where the decoder accepts one, not blank")
    func lastLine() throws {
        var server = ControlLineDecoder(maximumLength: 64, subject: "the request", acceptsUnterminatedLastLine: true)
        #expect(try Self.lines(of: [#"{"command":"status"}"#], &server, atEnd: true) == [#"{"command":"status"}"#])
        var blank = ControlLineDecoder(maximumLength: 64, subject: "the request", acceptsUnterminatedLastLine: true)
        #expect(try Self.lines(of: ["  \r"], &blank, atEnd: true) == [])
        var client = ControlLineDecoder(maximumLength: 64, subject: "a reply line", acceptsUnterminatedLastLine: false)
        #expect(try Self.lines(of: ["{\"a\":1}\n{\"end\":tr"], &client, atEnd: true) == [#"{"a":1}"#])
        var buffer = ByteBuffer(string: "leftover")
        #expect(try client.lastLine(from: &buffer) == nil && buffer.readableBytes == 0)
    }

    @Test("a line past the bound is refused, naming the bound, whether or not its newline has come")
    func bound() throws {
        let refusal = ControlError(.malformed, "the request is longer than 4 bytes without a newline")
        var open = ControlLineDecoder(maximumLength: 4, subject: "the request", acceptsUnterminatedLastLine: true)
        #expect(throws: refusal) { try Self.lines(of: ["12", "345"], &open) }
        var closed = ControlLineDecoder(maximumLength: 4, subject: "the request", acceptsUnterminatedLastLine: true)
        #expect(throws: refusal) { try Self.lines(of: ["1234\n12345\n"], &closed) }
        var exact = ControlLineDecoder(maximumLength: 4, subject: "the request", acceptsUnterminatedLastLine: true)
        #expect(try Self.lines(of: ["1234\n", "123\r\n", "1234"], &exact, atEnd: true) == ["1234", "123", "1234"])
        var last = ControlLineDecoder(maximumLength: 4, subject: "the request", acceptsUnterminatedLastLine: true)
        var buffer = ByteBuffer(string: "12345")
        #expect(throws: refusal) { try last.lastLine(from: &buffer) }
    }

    @Test("the server's bound is 64 KiB, the client's 16 MiB")
    func limits() {
        #expect(ControlServer.maximumRequestLength == 65_536)
        #expect(ControlClient.maximumReplyLineLength == 16 << 20)
    }

    @Test("a long stream of lines in odd chunks keeps every line, in order")
    func manyLines() throws {
        var decoder = ControlLineDecoder(maximumLength: 64, subject: "a line", acceptsUnterminatedLastLine: false)
        let text = (0..<5000).map { "line \($0)\n" }.joined()
        var chunks: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            chunks.append(String(rest.prefix(977)))
            rest = rest.dropFirst(977)
        }
        #expect(try Self.lines(of: chunks, &decoder) == (0..<5000).map { "line \($0)" })
    }

    @Test("a line arriving a byte at a time is found once its newline comes")
    func byteAtATime() throws {
        var decoder = ControlLineDecoder(maximumLength: 1000, subject: "a line", acceptsUnterminatedLastLine: false)
        let line = String(repeating: "x", count: 999)
        #expect(try Self.lines(of: (line + "\nz\n").map { String($0) }, &decoder) == [line, "z"])
    }
}
