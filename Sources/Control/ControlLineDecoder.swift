import NIOCore

/// Cuts a control connection's bytes into lines at `\n` (a `\r` before it is dropped), none longer than a bound:
/// each line goes up the pipeline as a `ByteBuffer` without its newline.
///
/// A line in progress that passes the bound, with or without its newline, is refused at once with
/// ``ControlError`` (kind ``ControlError/Kind/malformed``) naming the bound: "the request is longer than 65536 bytes
/// without a newline". The bytes already received are kept, never scanned twice, so a long line arriving in many
/// reads costs linear time.
struct ControlLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// The longest line accepted, in bytes without its newline (a `\r` before it counts).
    let maximumLength: Int
    /// What the bound protects, for the message ("the request", "a reply line").
    let subject: String
    /// Whether the bytes after the last newline, at the end of the stream, are a last line (a client that closes
    /// its side after a request without a newline); otherwise they are dropped (a reply cut short).
    let acceptsUnterminatedLastLine: Bool
    /// How many bytes from the reader index are known to hold no newline.
    private var scanned = 0

    /// A decoder for lines of at most `maximumLength` bytes.
    init(maximumLength: Int, subject: String, acceptsUnterminatedLastLine: Bool) {
        self.maximumLength = maximumLength
        self.subject = subject
        self.acceptsUnterminatedLastLine = acceptsUnterminatedLastLine
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let line = try nextLine(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        if let line = try nextLine(from: &buffer) {
            context.fireChannelRead(wrapInboundOut(line))
            return .continue
        }
        if seenEOF, let line = try lastLine(from: &buffer) {
            context.fireChannelRead(wrapInboundOut(line))
        }
        return .needMoreData
    }

    /// Takes the next complete line from `buffer`; nil until its newline has arrived.
    /// - Throws: ``ControlError`` (malformed) once the line in progress passes the bound.
    mutating func nextLine(from buffer: inout ByteBuffer) throws(ControlError) -> ByteBuffer? {
        let view = buffer.readableBytesView
        let from = view.index(view.startIndex, offsetBy: min(scanned, view.count))
        guard let newline = view[from...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maximumLength { throw tooLong() }
            return nil
        }
        let length = view.distance(from: view.startIndex, to: newline)
        guard length <= maximumLength else { throw tooLong() }
        scanned = 0
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        return line
    }

    /// At the end of the stream: the bytes after the last newline as a line, when they are one (the decoder
    /// accepts an unterminated last line, and they are not all white space); they are consumed either way.
    /// - Throws: ``ControlError`` (malformed) when they pass the bound.
    mutating func lastLine(from buffer: inout ByteBuffer) throws(ControlError) -> ByteBuffer? {
        guard buffer.readableBytes > 0 else { return nil }
        guard buffer.readableBytes <= maximumLength else { throw tooLong() }
        let rest = buffer.readSlice(length: buffer.readableBytes)!
        scanned = 0
        let blank = rest.readableBytesView.allSatisfy { [0x20, 0x09, 0x0D].contains($0) }
        return acceptsUnterminatedLastLine && !blank ? rest : nil
    }

    private func tooLong() -> ControlError {
        ControlError(.malformed, "\(subject) is longer than \(maximumLength) bytes without a newline")
    }
}
