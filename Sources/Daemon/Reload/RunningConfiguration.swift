import Config
import Synchronization

/// The configuration file as the daemon runs it: the one read at start, then each reload's once it was applied.
/// What acts later on the file's services (the health checks' adjustments) reads it here, so that it never undoes a
/// reload.
public final class RunningConfiguration: Sendable {
    private let file: Mutex<LVSyncConfig>

    /// Starts with the file read at start.
    public init(_ file: LVSyncConfig) {
        self.file = Mutex(file)
    }

    /// The file now.
    public var current: LVSyncConfig { file.withLock { $0 } }

    /// A reload's file, applied.
    public func replace(with file: LVSyncConfig) { self.file.withLock { $0 = file } }
}
