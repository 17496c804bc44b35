/// Builds one version 1 sync message in place from entries without options, the way the kernel's master fills a
/// buffer: append entries until it is full, then finish the header. The relay's hot path; nothing is allocated.
public struct SyncMessageWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    private let limit: Int
    private let syncID: UInt8
    /// Bytes written so far, header included.
    public private(set) var length = SyncWireLayout.v1HeaderLength
    /// Entries appended so far.
    public private(set) var count = 0

    /// Starts a message in `buffer`.
    /// - Parameters:
    ///   - maximumLength: the largest message to build (the kernel master's `sync_maxlen`); at most the buffer.
    public init(syncID: UInt8, into buffer: UnsafeMutableRawBufferPointer, maximumLength: Int = Int(UInt16.max)) {
        precondition(buffer.count >= SyncWireLayout.v1HeaderLength, "a buffer holds at least the header")
        self.buffer = buffer
        self.limit = min(buffer.count, maximumLength)
        self.syncID = syncID
    }

    /// Appends an entry.
    /// - Returns: false, appending nothing, when the message is full (by length or by the 255-entry count).
    public mutating func append(_ entry: SyncEntry) -> Bool {
        let entryLength = entry.isIPv6 ? SyncWireLayout.v1IPv6EntryLength : SyncWireLayout.v1IPv4EntryLength
        guard count < Int(UInt8.max), length + entryLength <= limit else { return false }
        // Entries without options are 36 or 72 bytes long, so they stay 4-byte aligned with no padding.
        length += SyncMessageEncoder.writeV1Fixed(entry, into: buffer, at: length)
        count += 1
        return true
    }

    /// Writes the header.
    /// - Returns: the message's length in bytes; the message is `buffer[0..<length]`.
    public func finish() -> Int {
        buffer[0] = 0
        buffer[1] = syncID
        buffer.storeBE16(UInt16(truncatingIfNeeded: length), at: 2)
        buffer[4] = UInt8(truncatingIfNeeded: count)
        buffer[5] = 1
        buffer.storeBE16(0, at: 6)
        return length
    }
}
