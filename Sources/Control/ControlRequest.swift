import Foundation

/// One request on the control socket: a command and its arguments, sent as the single line
/// `{"arguments":{"follow":true},"command":"stats"}` (keys sorted; `arguments` left out when there are none).
///
/// It is `Codable`: ``jsonText`` writes it with Foundation's `JSONEncoder`, ``init(jsonLine:)`` reads it with
/// `JSONDecoder`, and a line that is not a request is refused with a sentence saying what is wrong.
public struct ControlRequest: Sendable, Hashable, Codable {
    /// The command: `status`, `stats`, `conns`, `drill`, ...
    public var command: String
    /// Its arguments (absent on the wire means none).
    public var arguments: [String: JSONValue]

    /// Creates a request.
    public init(command: String, arguments: [String: JSONValue] = [:]) {
        self.command = command
        self.arguments = arguments
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case command
        case arguments
    }

    /// Any member name, to find those the protocol does not know.
    private struct MemberName: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes a request: an object with a non-empty string `command` and, optionally, an object (or `null`)
    /// `arguments`, nothing else.
    /// - Throws: ``ControlError`` (kind ``ControlError/Kind/malformed``) naming what is wrong, or the decoder's
    ///   error when the text is not JSON.
    public init(from decoder: any Decoder) throws {
        let members: KeyedDecodingContainer<CodingKeys>
        do {
            members = try decoder.container(keyedBy: CodingKeys.self)
        } catch let error as DecodingError {
            guard let value = try? decoder.singleValueContainer().decode(JSONValue.self) else { throw error }
            throw ControlError(
                .malformed,
                "the request is \(value.kindDescription), not an object like {\"command\":\"status\"}"
            )
        }
        let unknown = try decoder.container(keyedBy: MemberName.self).allKeys.map(\.stringValue)
            .filter { CodingKeys(stringValue: $0) == nil }.sorted()
        guard unknown.isEmpty else {
            throw ControlError(
                .malformed,
                "the request has unknown keys \(unknown.joined(separator: ", ")) (known: command, arguments)"
            )
        }
        guard members.contains(.command) else {
            throw ControlError(.malformed, "the request has no \"command\" (e.g. {\"command\":\"status\"})")
        }
        let command = try members.decode(JSONValue.self, forKey: .command)
        guard case .string(let name) = command, !name.isEmpty else {
            throw ControlError(
                .malformed,
                "the request's \"command\" must be a non-empty string, found \(command.jsonText)"
            )
        }
        self.command = name
        switch try members.decodeIfPresent(JSONValue.self, forKey: .arguments) {
        case nil, .null?: arguments = [:]
        case .object(let values)?: arguments = values
        case let other?:
            throw ControlError(
                .malformed,
                "the request's \"arguments\" must be an object, found \(other.kindDescription)"
            )
        }
    }

    /// Encodes the request; `arguments` only when there are some.
    public func encode(to encoder: any Encoder) throws {
        var members = encoder.container(keyedBy: CodingKeys.self)
        try members.encode(command, forKey: .command)
        if !arguments.isEmpty { try members.encode(arguments, forKey: .arguments) }
    }

    /// The request as its line, without the newline: compact JSON, keys sorted.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A request holds strings, numbers, booleans and nulls (a non-finite number encodes as null): nothing
        // JSONEncoder refuses.
        guard let data = try? encoder.encode(self) else { return "{\"command\":\(JSONString.quoted(command))}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a request line (without its newline).
    /// - Throws: ``ControlError`` (kind ``ControlError/Kind/malformed``) naming what is wrong: bytes that are not
    ///   UTF-8, text that is not JSON, JSON that is not a request.
    public init(jsonLine bytes: some Collection<UInt8>) throws(ControlError) {
        if let (offset, byte) = Self.firstInvalidUTF8(in: bytes) {
            throw ControlError(
                .malformed,
                "the request is not UTF-8 text (byte 0x\(String(byte, radix: 16, uppercase: true)) at byte "
                    + "\(offset) starts no character)"
            )
        }
        let data = Data(bytes)
        do {
            self = try JSONDecoder().decode(ControlRequest.self, from: data)
        } catch let error as ControlError {
            throw error
        } catch {
            // JSONDecoder says only "not valid JSON": JSONSerialization says what and where.
            do {
                _ = try JSONValue(jsonData: data)
            } catch {
                throw ControlError(.malformed, "the request is \(error.message)")
            }
            throw ControlError(.malformed, "the request is not a request: \(error)")
        }
    }

    /// Reads a request line (without its newline).
    /// - Throws: as ``init(jsonLine:)``.
    public init(line: some StringProtocol) throws(ControlError) {
        try self.init(jsonLine: Array(line.utf8))
    }

    /// Where the first byte that starts no UTF-8 character is, and that byte; nil for UTF-8 text.
    private static func firstInvalidUTF8(in bytes: some Collection<UInt8>) -> (offset: Int, byte: UInt8)? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return (offset, bytes[bytes.index(bytes.startIndex, offsetBy: offset)])
            }
        }
    }
}
