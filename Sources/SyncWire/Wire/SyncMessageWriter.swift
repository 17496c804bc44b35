/// Builds one version 1 sync message in place from entries without options, the way the kernel's master fills a
/// buffer: append entries until it is full, then finish the header. The relay's hot path; nothing is allocated.
public struct SyncMessageWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    private let limit: Int
    private let syncID: UInt8
    /// Bytes written so far, header included.
    public private(set) var length = SyncWireLayout.Header.length
    /// Entries appended so far.
    public private(set) var count = 0

    /// Starts a message in `buffer`.
    /// - Parameters:
    ///   - maximumLength: the largest message to build (the kernel master's `sync_maxlen`); at most the buffer.
    public init(syncID: UInt8, into buffer: UnsafeMutableRawBufferPointer, maximumLength: Int = Int(UInt16.max)) {
        precondition(buffer.count >= SyncWireLayout.Header.length, "a buffer holds at least the header")
        self.buffer = buffer
        self.limit = min(buffer.count, maximumLength)
        self.syncID = syncID
    }

    /// Appends an entry.
    /// - Returns: false, appending nothing, when the message is full (by length or by the 255-entry count).
    public mutating func append(_ entry: SyncEntry) -> Bool {
        let entryLength = entry.isIPv6 ? SyncWireLayout.ConnectionV6.length : SyncWireLayout.ConnectionV4.length
        guard count < Int(UInt8.max), length + entryLength <= limit else { return false }
        // Entries without options are 36 or 72 bytes long, so they stay 4-byte aligned with no padding.
        length += SyncMessageEncoder.writeV1Fixed(entry, into: buffer, at: length)
        count += 1
        return true
    }

    /// Writes the header.
    /// - Returns: the message's length in bytes; the message is `buffer[0..<length]`.
    public func finish() -> Int {
        typealias Header = SyncWireLayout.Header
        buffer[Header.reserved] = 0
        buffer[Header.syncID] = syncID
        buffer.storeBE16(UInt16(truncatingIfNeeded: length), at: Header.size)
        buffer[Header.count] = UInt8(truncatingIfNeeded: count)
        buffer[Header.version] = SyncProtocolVersion.v1.rawValue
        buffer.storeBE16(0, at: Header.spare)
        return length
    }
}
