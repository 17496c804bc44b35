import Control
import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line: `time`, `level`, `label`, `message`, then every
/// metadata field under its own key (numbers as JSON numbers), so that a log pipeline or `jq` reads the daemon's
/// lines, the sync statistics above all, without parsing text. Lines go through a ``LogOutput``, which never blocks
/// the caller and never ends the process.
public struct JSONLogHandler: LogHandler {
    private let label: String
    private let output: LogOutput
    /// The handler's own metadata, merged under each event's.
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    public var logLevel: Logger.Level = .info

    /// A handler writing to standard error (``LogOutput/standardError``).
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label, output: .standardError)
    }

    /// A handler writing to `output`.
    public init(label: String, output: LogOutput) {
        self.label = label
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        output.write(
            Self.line(time: Date(), level: event.level, label: label, message: "\(event.message)", fields),
            level: event.level
        )
    }

    /// One JSON line (without the newline). Strings are escaped by the Control module's ``JSONString``, the one
    /// escaper the control socket and the CLI use too.
    public static func line(
        time: Date,
        level: Logger.Level,
        label: String,
        message: String,
        _ fields: Logger.Metadata
    ) -> String {
        var text = "{\"time\":"
        JSONString.append(time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), to: &text)
        text += ",\"level\":"
        JSONString.append(level.rawValue, to: &text)
        text += ",\"label\":"
        JSONString.append(label, to: &text)
        text += ",\"message\":"
        JSONString.append(message, to: &text)
        for key in fields.keys.sorted() where !["time", "level", "label", "message"].contains(key) {
            text += ","
            JSONString.append(key, to: &text)
            text += ":"
            append(fields[key]!, to: &text)
        }
        text += "}"
        return text
    }

    private static func append(_ value: Logger.Metadata.Value, to text: inout String) {
        switch value {
        case .string(let string): JSONString.append(string, to: &text)
        case .stringConvertible(let value):
            switch value {
            case let n as any BinaryInteger: text += "\(n)"
            case let d as Double where d.isFinite: text += "\(d)"
            case let b as Bool: text += b ? "true" : "false"
            default: JSONString.append(value.description, to: &text)
            }
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                append(value, to: &text)
            }
            text += "]"
        case .dictionary(let values):
            text += "{"
            for (index, key) in values.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                JSONString.append(key, to: &text)
                text += ":"
                append(values[key]!, to: &text)
            }
            text += "}"
        }
    }
}
