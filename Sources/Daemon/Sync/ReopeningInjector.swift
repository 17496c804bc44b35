import HostNetwork
import Synchronization

/// The way into the kernel backup daemon, opened again when the sync interface was re-created: the injector's
/// socket is bound to the interface's index, so one opened before sends into nothing. The sink keeps this one
/// object; ``reopen()`` swaps what is inside.
public final class ReopeningInjector: SyncMessageInjecting {
    private let current: Mutex<any SyncMessageInjecting>
    private let open: @Sendable () throws -> any SyncMessageInjecting

    /// Opens the first injector with `open`, which ``reopen()`` calls again.
    public init(open: @escaping @Sendable () throws -> any SyncMessageInjecting) throws {
        self.open = open
        current = Mutex(try open())
    }

    /// Opens a new injector (on the interface as it is now) and uses it from the next message on.
    public func reopen() throws {
        let fresh = try open()
        current.withLock { $0 = fresh }
    }

    public func inject(_ message: UnsafeRawBufferPointer) throws {
        try current.withLock { try $0.inject(message) }
    }

    public var backupQueue: (any BackupQueueReading)? {
        current.withLock { $0.backupQueue }
    }
}
