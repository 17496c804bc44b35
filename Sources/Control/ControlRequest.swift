/// One request on the control socket: a command and its arguments, sent as the single line
/// `{"command":"stats","arguments":{"follow":true}}`.
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

    private enum CodingKeys: String, CodingKey {
        case command
        case arguments
    }

    /// Decodes a request; `arguments` may be missing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        command = try container.decode(String.self, forKey: .command)
        arguments = try container.decodeIfPresent([String: JSONValue].self, forKey: .arguments) ?? [:]
    }

    /// The request as a JSON object.
    public var jsonValue: JSONValue {
        arguments.isEmpty
            ? .object(["command": .string(command)])
            : .object(["command": .string(command), "arguments": .object(arguments)])
    }

    /// Reads a request line.
    /// - Throws: ``ControlError`` (kind ``ControlError/Kind/malformed``) naming what is wrong with it.
    public init(line: some StringProtocol) throws(ControlError) {
        let value: JSONValue
        do {
            value = try JSONValue(jsonText: line)
        } catch {
            throw ControlError(.malformed, "the request is \(error.message)")
        }
        guard case .object(let members) = value else {
            throw ControlError(
                .malformed,
                "the request is \(value.kindDescription), not an object like {\"command\":\"status\"}"
            )
        }
        guard let commandValue = members["command"] else {
            throw ControlError(.malformed, "the request has no \"command\" (e.g. {\"command\":\"status\"})")
        }
        guard case .string(let command) = commandValue, !command.isEmpty else {
            throw ControlError(
                .malformed,
                "the request's \"command\" must be a non-empty string, found \(commandValue.jsonText)"
            )
        }
        var arguments: [String: JSONValue] = [:]
        if let argumentsValue = members["arguments"], argumentsValue != .null {
            guard case .object(let values) = argumentsValue else {
                throw ControlError(
                    .malformed,
                    "the request's \"arguments\" must be an object, found \(argumentsValue.kindDescription)"
                )
            }
            arguments = values
        }
        let unknown = members.keys.filter { $0 != "command" && $0 != "arguments" }.sorted()
        guard unknown.isEmpty else {
            throw ControlError(
                .malformed,
                "the request has unknown keys \(unknown.joined(separator: ", ")) (known: command, arguments)"
            )
        }
        self.init(command: command, arguments: arguments)
    }
}
