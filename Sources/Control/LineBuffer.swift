import NIOCore

/// Bytes from a stream cut into lines at `\n` (a `\r` before it is dropped), none longer than a bound.
struct LineBuffer {
    /// The longest line accepted, in bytes without its newline.
    let maximumLength: Int
    /// What the bound protects, for the message ("the request", "a reply line").
    let subject: String
    /// Received bytes; those before `start` are consumed, those from `start` to `scanned` hold no newline.
    private var bytes: [UInt8] = []
    private var start = 0
    private var scanned = 0

    init(maximumLength: Int, subject: String) {
        self.maximumLength = maximumLength
        self.subject = subject
    }

    mutating func append(_ chunk: ByteBuffer) {
        // Drop what was consumed once it is most of the storage, so a long reply costs linear time.
        if start > 0, start * 2 >= bytes.count {
            bytes.removeSubrange(..<start)
            scanned -= start
            start = 0
        }
        bytes.append(contentsOf: chunk.readableBytesView)
    }

    /// The next complete line, or nil until one has arrived.
    /// - Throws: ``ControlError`` (malformed) once the line in progress passes the bound.
    mutating func nextLine() throws(ControlError) -> String? {
        guard let newline = bytes[scanned...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = bytes.count
            if bytes.count - start > maximumLength { throw tooLong() }
            return nil
        }
        guard newline - start <= maximumLength else { throw tooLong() }
        var end = newline
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = String(decoding: bytes[start..<end], as: UTF8.self)
        start = newline + 1
        scanned = start
        return line
    }

    /// What is left at the end of the stream: a last line without its newline.
    mutating func remainder() throws(ControlError) -> String? {
        guard start < bytes.count else { return nil }
        guard bytes.count - start <= maximumLength else { throw tooLong() }
        defer {
            bytes.removeAll()
            start = 0
            scanned = 0
        }
        return String(decoding: bytes[start...], as: UTF8.self)
    }

    private func tooLong() -> ControlError {
        ControlError(.malformed, "\(subject) is longer than \(maximumLength) bytes without a newline")
    }
}
