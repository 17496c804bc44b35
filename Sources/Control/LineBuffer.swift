import NIOCore

/// Bytes from a stream cut into lines at `\n` (a `\r` before it is dropped), none longer than a bound.
struct LineBuffer {
    /// The longest line accepted, in bytes without its newline.
    let maximumLength: Int
    /// What the bound protects, for the message ("the request", "a reply line").
    let subject: String
    private var bytes: [UInt8] = []

    init(maximumLength: Int, subject: String) {
        self.maximumLength = maximumLength
        self.subject = subject
    }

    /// Whether bytes wait that end no line yet.
    var hasPartialLine: Bool { !bytes.isEmpty }

    mutating func append(_ chunk: ByteBuffer) {
        bytes.append(contentsOf: chunk.readableBytesView)
    }

    /// The next complete line, or nil until one has arrived.
    /// - Throws: ``ControlError`` (malformed) once the line in progress passes the bound.
    mutating func nextLine() throws(ControlError) -> String? {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            if bytes.count > maximumLength { throw tooLong() }
            return nil
        }
        guard newline <= maximumLength else { throw tooLong() }
        var end = newline
        if end > 0, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = String(decoding: bytes[..<end], as: UTF8.self)
        bytes.removeSubrange(...newline)
        return line
    }

    /// What is left at the end of the stream: a last line without its newline.
    mutating func remainder() throws(ControlError) -> String? {
        guard !bytes.isEmpty else { return nil }
        guard bytes.count <= maximumLength else { throw tooLong() }
        defer { bytes.removeAll() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func tooLong() -> ControlError {
        ControlError(.malformed, "\(subject) is longer than \(maximumLength) bytes without a newline")
    }
}
