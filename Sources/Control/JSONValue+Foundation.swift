import Foundation

extension JSONValue: Codable {
    /// Decodes any JSON value: a whole number that fits 64 bits becomes an ``integer(_:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    /// Encodes the value as it is (a non-finite number as `null`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value) where value.isFinite: try container.encode(value)
        case .number: try container.encodeNil()
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// The value as compact JSON on one line, object keys sorted: `{"a":1,"b":[true,null]}` (strings escaped by
    /// ``JSONString``).
    public var jsonText: String {
        var text = ""
        append(to: &text)
        return text
    }

    /// Reads one JSON text (RFC 8259) with Foundation's `JSONSerialization`: a number written without a fraction or
    /// an exponent that fits 64 bits becomes an ``integer(_:)``, any other number a ``number(_:)``, so that a value
    /// read and written again prints as it came.
    /// - Throws: ``ControlError`` of kind ``ControlError/Kind/malformed``: "not valid JSON (...)" with
    ///   Foundation's reason and where.
    public init(jsonText: some StringProtocol) throws(ControlError) {
        try self.init(jsonData: Data(jsonText.utf8))
    }

    /// Reads one JSON text from UTF-8 bytes, as ``init(jsonText:)`` does.
    /// - Throws: as ``init(jsonText:)``; bytes that are not UTF-8 are not valid JSON.
    public init(jsonData: Data) throws(ControlError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: jsonData, options: [.fragmentsAllowed])
        } catch {
            throw ControlError(.malformed, "not valid JSON (\(Self.reason(error)))")
        }
        self = Self(foundation: object)
    }

    /// Why Foundation refused a text: its debug description ("Invalid value around character 8"), else its sentence.
    static func reason(_ error: any Error) -> String {
        let error = error as NSError
        var reason = error.userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
        while reason.hasSuffix(".") { reason.removeLast() }
        return reason
    }

    /// A value of `JSONSerialization`'s making.
    private init(foundation object: Any) {
        switch object {
        case let text as String: self = .string(text)
        case let number as NSNumber: self = Self(number)
        case let array as [Any]: self = .array(array.map(Self.init(foundation:)))
        case let members as [String: Any]: self = .object(members.mapValues(Self.init(foundation:)))
        default: self = .null
        }
    }

    /// A number of `JSONSerialization`'s making: its type says what the text was (a boolean, a whole number, or one
    /// with a fraction or an exponent).
    private init(_ number: NSNumber) {
        switch String(cString: number.objCType) {
        case "c", "B": self = .bool(number.boolValue)
        case "d", "f": self = .number(number.doubleValue)
        case "Q", "L", "I", "S", "C":
            // Unsigned: past Int64.max only as a number, as RFC 8259 readers do.
            if let whole = Int64(exactly: number.uint64Value) {
                self = .integer(whole)
            } else {
                self = .number(number.doubleValue)
            }
        default: self = .integer(number.int64Value)
        }
    }

    private func append(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .number(let value): text += value.isFinite ? "\(value)" : "null"
        case .integer(let value): text += "\(value)"
        case .string(let value): JSONString.append(value, to: &text)
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.append(to: &text)
            }
            text += "]"
        case .object(let members):
            text += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                JSONString.append(key, to: &text)
                text += ":"
                members[key]!.append(to: &text)
            }
            text += "}"
        }
    }
}
