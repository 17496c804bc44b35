import Control
import Foundation
import Testing

@Suite("The one JSON string escaper")
struct JSONStringTests {
    /// The escaping the three escapers this one replaced shared (control socket, CLI JSON lines, JSON log).
    static func formerEscaping(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }

    @Test("quotes, backslashes and control characters are escaped; the rest, DEL and non-ASCII too, is as it is")
    func escapes() {
        #expect(JSONString.quoted("") == #""""#)
        #expect(JSONString.quoted("plain") == #""plain""#)
        #expect(
            JSONString.quoted("a\"b\\c\nd\re\tf\u{0}g\u{1f}h\u{8}\u{c}")
                == #""a\"b\\c\nd\re\tf\u0000g\u001fh\u0008\u000c""#
        )
        #expect(JSONString.quoted("é😀\u{7f}/") == "\"é😀\u{7f}/\"")
        #expect(JSONString.quoted("\r\n") == #""\r\n""#)
        #expect(JSONString.quoted("e\u{301}\n\u{301}") == "\"e\u{301}\\n\u{301}\"")
        var text = "{\"k\":"
        JSONString.append("v\"", to: &text)
        #expect(text == #"{"k":"v\"""#)
    }

    @Test("every scalar below U+0100, and some beyond, escapes as the former escapers did")
    func sameAsBefore() {
        var all = ""
        for value in 0..<0x100 {
            let scalar = Unicode.Scalar(UInt8(value))
            let text = "x\(Character(scalar))y"
            #expect(JSONString.quoted(text) == Self.formerEscaping(text), "U+\(String(value, radix: 16))")
            all.unicodeScalars.append(scalar)
        }
        all += "é😀\u{2028}\u{FEFF}\r\n\u{301}"
        #expect(JSONString.quoted(all) == Self.formerEscaping(all))
    }

    @Test("what it writes, Foundation reads back as the same string")
    func readsBack() throws {
        var generator = SplitMix64(seed: 7)
        let pool: [Unicode.Scalar] = (0..<0x80).map { Unicode.Scalar(UInt8($0)) } + ["é", "😀", "\u{301}", "\u{2028}"]
        for _ in 0..<500 {
            var value = ""
            for _ in 0..<Int(generator.next() % 24) {
                value.unicodeScalars.append(pool[Int(generator.next() % UInt64(pool.count))])
            }
            let data = Data(JSONString.quoted(value).utf8)
            let read = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? String
            #expect(read == value)
        }
    }
}
