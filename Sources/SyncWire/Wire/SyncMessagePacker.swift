/// Packs entries into as few sync messages as fit a length limit, as the kernel's master fills its buffers:
/// at most 255 entries and `maximumLength` bytes per message.
public struct SyncMessagePacker: Sendable {
    /// The wire format of the messages.
    public var version: SyncProtocolVersion
    /// The sync ID written into every message.
    public var syncID: UInt8
    /// The largest message in bytes (the kernel master's `sync_maxlen`, 1472 by default for IPv4).
    public var maximumLength: Int

    /// Creates a packer.
    public init(
        version: SyncProtocolVersion,
        syncID: UInt8,
        maximumLength: Int = SyncWireLayout.defaultMaximumMessageLength
    ) {
        self.version = version
        self.syncID = syncID
        self.maximumLength = maximumLength
    }

    /// Packs the entries in order into encoded messages.
    /// - Throws: ``SyncWireError`` naming the entry (its index in `connections`) that cannot be encoded.
    public func pack(_ connections: some Sequence<SyncConnection>) throws(SyncWireError) -> [[UInt8]] {
        let header = version == .v1 ? SyncWireLayout.Header.length : SyncWireLayout.HeaderV0.length
        var messages: [[UInt8]] = []
        var batch: [SyncConnection] = []
        var length = header
        func flush() throws(SyncWireError) {
            guard !batch.isEmpty else { return }
            messages.append(
                try SyncMessageEncoder.encode(SyncMessage(version: version, syncID: syncID, connections: batch))
            )
            batch.removeAll(keepingCapacity: true)
            length = header
        }
        for (index, connection) in connections.enumerated() {
            let entry: Int
            do {
                entry = try SyncMessageEncoder.entryLength(of: connection, version: version)
            } catch {
                throw SyncWireError(error.reason, entryIndex: index)
            }
            guard header + entry <= maximumLength else {
                throw SyncWireError(
                    .entryLargerThanMessageLimit(entryLength: entry, limit: maximumLength),
                    entryIndex: index
                )
            }
            let padded = version == .v1 ? SyncWireLayout.aligned(length) : length
            if padded + entry > maximumLength || batch.count == Int(UInt8.max) {
                try flush()
                length = header + entry
            } else {
                length = padded + entry
            }
            batch.append(connection)
        }
        try flush()
        return messages
    }
}
