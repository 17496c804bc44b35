/// Reads one JSON text (RFC 8259) into a ``JSONValue``: whole numbers that fit 64 bits become integers; errors say
/// what was found where.
struct JSONParser {
    private static let maximumDepth = 64
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: some StringProtocol) {
        bytes = Array(text.utf8)
    }

    /// The value the whole text holds.
    mutating func parse() throws(ControlError) -> JSONValue {
        skipSpace()
        let value = try parseValue(depth: 0)
        skipSpace()
        guard index == bytes.count else { throw failure("text after the end of the value") }
        return value
    }

    private mutating func parseValue(depth: Int) throws(ControlError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw failure("values nested more than \(Self.maximumDepth) deep") }
        guard index < bytes.count else { throw failure("the text ends where a value should be") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw unexpected()
        }
    }

    private mutating func parseObject(depth: Int) throws(ControlError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if peek(UInt8(ascii: "}")) { return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw unexpected(expecting: "a member name in quotes")
            }
            let key = try parseString()
            skipSpace()
            guard peek(UInt8(ascii: ":")) else { throw unexpected(expecting: "':' after a member name") }
            skipSpace()
            members[key] = try parseValue(depth: depth + 1)
            skipSpace()
            if peek(UInt8(ascii: ",")) { continue }
            if peek(UInt8(ascii: "}")) { return .object(members) }
            throw unexpected(expecting: "',' or '}' in an object")
        }
    }

    private mutating func parseArray(depth: Int) throws(ControlError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipSpace()
        if peek(UInt8(ascii: "]")) { return .array(elements) }
        while true {
            skipSpace()
            elements.append(try parseValue(depth: depth + 1))
            skipSpace()
            if peek(UInt8(ascii: ",")) { continue }
            if peek(UInt8(ascii: "]")) { return .array(elements) }
            throw unexpected(expecting: "',' or ']' in an array")
        }
    }

    private mutating func parseString() throws(ControlError) -> String {
        index += 1
        let start = index
        // The common case: no escapes.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"),
            bytes[index] >= 0x20
        {
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
        }
        var text = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                try parseEscape(into: &text)
            case ..<0x20:
                throw failure("a control character (0x\(String(byte, radix: 16))) inside a string at byte \(index)")
            default:
                text.append(byte)
                index += 1
            }
        }
        throw failure("a string that does not end")
    }

    private mutating func parseEscape(into text: inout [UInt8]) throws(ControlError) {
        guard index < bytes.count else { throw failure("a string that does not end") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(byte)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800..<0xDC00).contains(scalar), bytes[index...].starts(with: Array("\\u".utf8)) {
                index += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("a broken surrogate pair at byte \(index)") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            text.append(contentsOf: Array(String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8))
        default:
            index -= 1
            throw unexpected(expecting: "an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u)")
        }
    }

    private mutating func parseHex4() throws(ControlError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("a \\u escape without four hex digits") }
        var value: UInt32 = 0
        for byte in bytes[index..<(index + 4)] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else {
                throw failure("a \\u escape without four hex digits at byte \(index)")
            }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    private mutating func parseNumber() throws(ControlError) -> JSONValue {
        let start = index
        var whole = true
        _ = peek(UInt8(ascii: "-"))
        // A leading zero stands alone: 0, 0.5, never 01.
        if !peek(UInt8(ascii: "0")) {
            guard digits() > 0 else { throw unexpected(expecting: "a digit") }
        }
        if peek(UInt8(ascii: ".")) {
            whole = false
            guard digits() > 0 else { throw unexpected(expecting: "a digit after '.'") }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            whole = false
            _ = peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-"))
            guard digits() > 0 else { throw unexpected(expecting: "a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if whole, let integer = Int64(text) { return .integer(integer) }
        guard let number = Double(text) else { throw failure("\(text) is not a number") }
        return .number(number)
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func parseLiteral(_ word: String, _ value: JSONValue) throws(ControlError) -> JSONValue {
        guard bytes[index...].starts(with: word.utf8) else { throw unexpected() }
        index += word.utf8.count
        return value
    }

    /// Consumes `byte` if it is next.
    private mutating func peek(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private func unexpected(expecting: String? = nil) -> ControlError {
        let found: String
        if index >= bytes.count {
            found = "the end of the text"
        } else if bytes[index] >= 0x20, bytes[index] < 0x7F {
            found = "'\(Character(Unicode.Scalar(bytes[index])))' at byte \(index)"
        } else {
            found = "byte 0x\(String(bytes[index], radix: 16)) at byte \(index)"
        }
        return failure(expecting.map { "expected \($0), found \(found)" } ?? "unexpected \(found)")
    }

    private func failure(_ reason: String) -> ControlError {
        ControlError(.malformed, "not valid JSON (\(reason))")
    }
}
