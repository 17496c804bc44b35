import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line: `time`, `level`, `label`, `message`, then every
/// metadata field under its own key (numbers as JSON numbers), so that a log pipeline or `jq` reads the daemon's
/// lines, the sync statistics above all, without parsing text.
public struct JSONLogHandler: LogHandler {
    private let label: String
    private let output: JSONLineOutput
    /// The handler's own metadata, merged under each event's.
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    public var logLevel: Logger.Level = .info

    /// A handler writing to standard error.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label, output: .standardError)
    }

    /// A handler writing to `output`.
    public init(label: String, output: JSONLineOutput) {
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
        output.write(Self.line(time: Date(), level: event.level, label: label, message: "\(event.message)", fields))
    }

    /// One JSON line (without the newline).
    public static func line(
        time: Date,
        level: Logger.Level,
        label: String,
        message: String,
        _ fields: Logger.Metadata
    ) -> String {
        var parts = [
            "\"time\":\(quoted(time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))))",
            "\"level\":\(quoted(level.rawValue))",
            "\"label\":\(quoted(label))",
            "\"message\":\(quoted(message))",
        ]
        for key in fields.keys.sorted() where !["time", "level", "label", "message"].contains(key) {
            parts.append("\(quoted(key)):\(render(fields[key]!))")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    private static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return quoted(text)
        case .stringConvertible(let value):
            switch value {
            case let n as any BinaryInteger: return "\(n)"
            case let d as Double where d.isFinite: return "\(d)"
            case let b as Bool: return b ? "true" : "false"
            default: return quoted(value.description)
            }
        case .array(let values): return "[" + values.map(render).joined(separator: ",") + "]"
        case .dictionary(let values):
            let inner = values.keys.sorted().map { "\(quoted($0)):\(render(values[$0]!))" }
            return "{" + inner.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Where JSON lines go: standard error (one lock, so lines from several threads never interleave), or a closure in
/// tests.
public final class JSONLineOutput: Sendable {
    private let sink: Mutex<@Sendable (String) -> Void>

    /// An output that hands each line to `write`.
    public init(_ write: @escaping @Sendable (String) -> Void) {
        sink = Mutex(write)
    }

    /// Standard error.
    public static let standardError = JSONLineOutput { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func write(_ line: String) {
        sink.withLock { $0(line) }
    }
}
