import NIOCore

/// The peer protocol's framing: a 4-byte big-endian length, then one encoded `Frame` of that length.
public enum PeerFraming {
    /// The length prefix's size.
    public static let prefixLength = 4
    /// The default largest frame accepted: a snapshot chunk or batch of 256 KiB with room to spare.
    public static let defaultMaximumFrameLength = 1 << 20
}

/// Splits the stream into frames and decodes each, refusing a length prefix above the maximum as soon as the
/// prefix arrives (a 4 GiB prefix costs 4 bytes, never a 4 GiB buffer) and any frame that is not a peer message.
public struct PeerFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = PeerMessage

    /// The largest frame accepted.
    public let maximumFrameLength: Int

    /// Creates a decoder.
    public init(maximumFrameLength: Int = PeerFraming.defaultMaximumFrameLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> PeerMessage? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length <= maximumFrameLength else {
            throw PeerProtocolError(.frameTooLarge(length: UInt64(length), maximum: maximumFrameLength))
        }
        guard length > 0 else { throw PeerProtocolError(.malformedFrame("an empty frame")) }
        guard buffer.readableBytes >= PeerFraming.prefixLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: PeerFraming.prefixLength)
        // readBytes cannot fail: the length was checked above.
        let payload = buffer.readBytes(length: Int(length)) ?? []
        return try PeerMessage(serializedBytes: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PeerMessage? {
        try decode(buffer: &buffer)
    }
}

/// Encodes each message as one length-prefixed frame.
public struct PeerFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = PeerMessage

    /// Creates an encoder.
    public init() {}

    public func encode(data: PeerMessage, out: inout ByteBuffer) throws {
        let payload = data.serializedBytes()
        out.reserveCapacity(PeerFraming.prefixLength + payload.count)
        out.writeInteger(UInt32(payload.count))
        out.writeBytes(payload)
    }
}
