import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler that writes the same lines as swift-log's `StreamLogHandler`
/// (`TIME LEVEL LABEL: key=value … [SOURCE] MESSAGE`, the metadata sorted by key; the lab scripts grep for the
/// messages and the `key=value` pairs), but through a ``LogOutput``: it never blocks the caller and never ends the
/// process, whatever happens to standard error.
public struct TextLogHandler: LogHandler {
    private let label: String
    private let output: LogOutput
    /// The handler's own metadata, merged under the provider's and each event's.
    public var metadata: Logger.Metadata = [:]
    /// The metadata provider, asked on every event.
    public var metadataProvider: Logger.MetadataProvider?
    /// The lowest level written.
    public var logLevel: Logger.Level = .info

    /// A handler writing to standard error (``LogOutput/standardError``).
    public static func standardError(label: String) -> TextLogHandler {
        TextLogHandler(label: label, output: .standardError)
    }

    /// A handler writing to `output`, with `LoggingSystem`'s metadata provider unless another is given.
    public init(
        label: String,
        output: LogOutput,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            fields.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            fields.merge(explicit) { _, new in new }
        }
        if let error = event.error {
            fields["error.message"] = "\(error)"
            fields["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let line = Self.line(
            timestamp: Self.timestamp(time(nil)),
            level: event.level,
            label: label,
            metadata: fields,
            source: event.source,
            message: "\(event.message)"
        )
        output.write(line, level: event.level)
    }

    /// One line (without the newline), laid out as `StreamLogHandler` lays it out.
    public static func line(
        timestamp: String,
        level: Logger.Level,
        label: String,
        metadata: Logger.Metadata,
        source: String,
        message: String
    ) -> String {
        let pretty =
            metadata.isEmpty
            ? "" : " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(timestamp) \(level)\(label.isEmpty ? "" : " ")\(label):\(pretty) [\(source)] \(message)"
    }

    /// `time` as `StreamLogHandler` writes it: local time, `%Y-%m-%dT%H:%M:%S%z`.
    public static func timestamp(_ time: time_t) -> String {
        var seconds = time
        var local = tm()
        guard localtime_r(&seconds, &local) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
