import Logging
import Synchronization

/// What a test's logger wrote: each message (`lines`), and each with its level and metadata (`entries`).
final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    let entries = Mutex<[String]>([])

    /// A logger that writes here.
    var logger: Logger { Logger(label: "test") { _ in RecordingLogHandler(sink: self) } }
}

/// A log handler that keeps every event in a ``LogLines``.
struct RecordingLogHandler: LogHandler {
    let sink: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        sink.lines.withLock { $0.append("\(event.message)") }
        sink.entries.withLock { $0.append("\(event.level) \(event.message) \(event.metadata ?? [:])") }
    }
}
