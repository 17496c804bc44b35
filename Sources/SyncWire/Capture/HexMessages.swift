/// Hex text: one sync message per line, as `lvsync decode --hex` reads it and the lab's captures store it.
public enum HexMessages {
    /// Parses lines of hex digits (upper or lower case; spaces and colons between bytes allowed). Blank lines and
    /// lines starting with `#` are skipped.
    /// - Returns: each message with its 1-based line number, and one error per malformed line.
    public static func parse(_ text: String) -> (messages: [(line: Int, bytes: [UInt8])], problems: [SyncWireError]) {
        var messages: [(line: Int, bytes: [UInt8])] = []
        var problems: [SyncWireError] = []
        // Over the UTF-8 bytes, not Characters: a capture of 200 000 connections is 14 MB of hex.
        let utf8 = text.utf8
        var lineNumber = 0
        var start = utf8.startIndex
        while start < utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "\n")) ?? utf8.endIndex
            lineNumber += 1
            let line = utf8[start..<end].drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if !line.isEmpty, line.first != UInt8(ascii: "#") {
                do {
                    messages.append((lineNumber, try bytes(fromHexUTF8: line)))
                } catch {
                    problems.append(SyncWireError(error.reason, line: lineNumber))
                }
            }
            start = end < utf8.endIndex ? utf8.index(after: end) : end
        }
        return (messages, problems)
    }

    /// Decodes one line of hex digits.
    public static func bytes(fromHex text: some StringProtocol) throws(SyncWireError) -> [UInt8] {
        try bytes(fromHexUTF8: Array(text.utf8)[...])
    }

    /// Decodes one line of hex digits given as UTF-8 (positions are byte offsets: the digits are ASCII).
    static func bytes(fromHexUTF8 text: some Collection<UInt8>) throws(SyncWireError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var high: UInt8?
        for (position, byte) in text.enumerated() {
            if byte == 0x20 || byte == UInt8(ascii: ":") || byte == 0x09 || byte == 0x0D {
                guard high == nil else { throw SyncWireError(.invalidHex("odd digit before position \(position)")) }
                continue
            }
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            default:
                let shown = byte < 0x80 ? "'\(UnicodeScalar(byte))'" : "byte 0x\(String(byte, radix: 16))"
                throw SyncWireError(.invalidHex("\(shown) at position \(position) is not a hex digit"))
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { throw SyncWireError(.invalidHex("odd number of hex digits")) }
        return bytes
    }

    /// Lowercase hex of the bytes, no separators.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
