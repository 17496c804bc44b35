/// Kernel sync messages back to back, as the peer protocol carries them in batches and snapshot chunks: each
/// message's own size field (``SyncWireLayout/Header/size``, both versions) says where the next begins.
public enum SyncMessageRun {
    /// Calls `body` with each message of `buffer` in order.
    /// - Returns: nil when the run is well formed, else the problem that ended it (the messages before it were
    ///   passed to `body`).
    @discardableResult
    public static func forEach(
        in buffer: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> SyncWireError? {
        var offset = 0
        while offset < buffer.count {
            let remaining = buffer.count - offset
            guard remaining >= SyncWireLayout.HeaderV0.length else {
                return SyncWireError(.headerTooShort(length: remaining))
            }
            let size = Int(buffer.be16(offset + SyncWireLayout.Header.size))
            guard size >= SyncWireLayout.HeaderV0.length, size <= remaining else {
                return SyncWireError(.sizeMismatch(headerSize: size, actualLength: remaining))
            }
            try body(UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + size]))
            offset += size
        }
        return nil
    }
}
