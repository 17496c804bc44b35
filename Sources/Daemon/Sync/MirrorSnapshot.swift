import Mirror
import NIOCore
import PeerProtocol
import SyncWire

/// A snapshot of a mirror table read out as kernel sync messages (version 1), chunk by chunk.
///
/// It holds a copy of the table (copy on write: taking it is O(1); the table's next change pays one copy of its
/// storage), so the walk sees one consistent table while the capture goes on.
public struct MirrorSnapshot: SnapshotSource {
    private let table: MirrorTable
    private let now: MirrorTime
    private let syncID: UInt8
    private let maximumMessageLength: Int
    private var position: Int? = 0
    /// The entries the snapshot holds.
    public let entryCount: Int

    /// Takes a snapshot of `table`, whose expired entries the caller removed at `now`.
    public init(table: MirrorTable, now: MirrorTime, syncID: UInt8, maximumMessageLength: Int) {
        self.table = table
        self.now = now
        self.syncID = syncID
        self.maximumMessageLength = maximumMessageLength
        var live = 0
        table.forEachEntry(now: now) { _, _ in live += 1 }
        entryCount = live
    }

    public mutating func nextChunk(into buffer: inout ByteBuffer, maximumBytes: Int) -> Int {
        guard let start = position else { return 0 }
        var entries = 0
        var rich: [SyncConnection] = []
        var message = [UInt8](repeating: 0, count: maximumMessageLength)
        let limit = maximumMessageLength
        let syncID = syncID
        var written = 0
        message.withUnsafeMutableBytes { raw in
            var writer = SyncMessageWriter(syncID: syncID, into: raw, maximumLength: limit)
            position = table.forEachEntry(from: start, now: now) { entry, connection in
                if let connection {
                    rich.append(connection)
                } else if !writer.append(entry) {
                    let length = writer.finish()
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
                    written += length
                    writer = SyncMessageWriter(syncID: syncID, into: raw, maximumLength: limit)
                    guard written < maximumBytes else { return false }
                    _ = writer.append(entry)
                }
                entries += 1
                return true
            }
            if writer.count > 0 {
                let length = writer.finish()
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
            }
        }
        if !rich.isEmpty {
            let packer = SyncMessagePacker(version: .v1, syncID: syncID, maximumLength: maximumMessageLength)
            // Entries in the table were accepted by the decoder, so they encode; should one not, it is left out
            // rather than stopping the snapshot.
            if let messages = try? packer.pack(rich) {
                for bytes in messages { buffer.writeBytes(bytes) }
            } else {
                for connection in rich {
                    guard let messages = try? packer.pack([connection]) else {
                        entries -= 1
                        continue
                    }
                    for bytes in messages { buffer.writeBytes(bytes) }
                }
            }
        }
        return entries
    }
}
