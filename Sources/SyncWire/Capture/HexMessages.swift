/// Hex text: one sync message per line, as `lvsync decode --hex` reads it and the lab's captures store it.
public enum HexMessages {
    /// Parses lines of hex digits (upper or lower case; spaces and colons between bytes allowed). Blank lines and
    /// lines starting with `#` are skipped.
    /// - Returns: each message with its 1-based line number, and one error per malformed line.
    public static func parse(_ text: String) -> (messages: [(line: Int, bytes: [UInt8])], problems: [SyncWireError]) {
        var messages: [(line: Int, bytes: [UInt8])] = []
        var problems: [SyncWireError] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingPrefix(while: \.isWhitespace)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                messages.append((i + 1, try bytes(fromHex: trimmed)))
            } catch {
                problems.append(SyncWireError(error.reason, line: i + 1))
            }
        }
        return (messages, problems)
    }

    /// Decodes one line of hex digits.
    public static func bytes(fromHex text: some StringProtocol) throws(SyncWireError) -> [UInt8] {
        var bytes: [UInt8] = []
        var high: UInt8?
        for (position, character) in text.enumerated() {
            if character == " " || character == ":" || character == "\t" || character == "\r" {
                guard high == nil else { throw SyncWireError(.invalidHex("odd digit before position \(position)")) }
                continue
            }
            guard let nibble = character.hexDigitValue else {
                throw SyncWireError(.invalidHex("'\(character)' at position \(position) is not a hex digit"))
            }
            if let h = high {
                bytes.append(h << 4 | UInt8(nibble))
                high = nil
            } else {
                high = UInt8(nibble)
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
