import Mirror
import SyncWire

/// What validating and mirroring one kernel sync message found.
struct MirroredMessage {
    /// The header, or nil when the kernel would drop the whole message.
    var header: (version: SyncProtocolVersion, syncID: UInt8)?
    /// Entries that passed the kernel's checks.
    var accepted = 0
    /// Whether some accepted entries carry options (those are left to the caller's rich path).
    var hasOptions = false
    /// What the checks found.
    var problems: [SyncWireError] = []
}

extension MirrorTable {
    /// The hot path both directors share: validates one kernel sync message as the kernel's backup would and puts
    /// its entries without options into the table, a message at a time (``upsert(contentsOf:version:now:)``).
    /// Entries with options are only counted: the caller decodes those as rich values.
    /// - Parameter scratch: room for a message's entries (255), reused across messages.
    mutating func mirrorPlainEntries(
        of message: UnsafeRawBufferPointer,
        scratch: UnsafeMutableBufferPointer<SyncEntry>,
        now: MirrorTime
    ) -> MirroredMessage {
        var result = MirroredMessage()
        var count = 0
        result.header = SyncMessageDecoder.visitEntries(message, problems: &result.problems) { entry, options in
            result.accepted += 1
            if !options.isEmpty {
                result.hasOptions = true
            } else if count < scratch.count {
                scratch.initializeElement(at: count, to: entry)
                count += 1
            } else {
                upsert(entry, version: .v1, now: now)
            }
        }
        upsert(
            contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<count]),
            version: result.header?.version ?? .v1,
            now: now
        )
        return result
    }
}
