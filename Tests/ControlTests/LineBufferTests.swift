import NIOCore
import Testing

@testable import Control

@Suite("Cutting a stream into lines")
struct LineBufferTests {
    @Test("lines split across chunks, several in one chunk, CRLF endings, a last line without its newline")
    func lines() throws {
        var buffer = LineBuffer(maximumLength: 16, subject: "a line")
        var lines: [String] = []
        for chunk in ["{\"a\"", ":1}\n{\"b\":2}\r\n{}\n", "\n", "tail"] {
            buffer.append(ByteBuffer(string: chunk))
            while let line = try buffer.nextLine() { lines.append(line) }
        }
        #expect(lines == [#"{"a":1}"#, #"{"b":2}"#, "{}", ""])
        #expect(try buffer.remainder() == "tail")
        #expect(try buffer.remainder() == nil)
    }

    @Test("a line past the bound is refused whether or not its newline has come")
    func bound() throws {
        var open = LineBuffer(maximumLength: 4, subject: "the request")
        open.append(ByteBuffer(string: "12345"))
        #expect(throws: ControlError(.malformed, "the request is longer than 4 bytes without a newline")) {
            try open.nextLine()
        }
        var closed = LineBuffer(maximumLength: 4, subject: "the request")
        closed.append(ByteBuffer(string: "1234\n12345\n"))
        #expect(try closed.nextLine() == "1234")
        #expect(throws: ControlError.self) { try closed.nextLine() }
    }

    @Test("a long stream of lines keeps every line, in order")
    func manyLines() throws {
        var buffer = LineBuffer(maximumLength: 64, subject: "a line")
        var received: [String] = []
        let text = (0..<5000).map { "line \($0)\n" }.joined()
        var rest = Substring(text)
        while !rest.isEmpty {
            buffer.append(ByteBuffer(string: String(rest.prefix(977))))
            rest = rest.dropFirst(977)
            while let line = try buffer.nextLine() { received.append(line) }
        }
        #expect(received == (0..<5000).map { "line \($0)" })
    }
}
