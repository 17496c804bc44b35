import NIOCore

/// The first handler of a server pipeline: refuses a peer whose first byte is not the start of a TLS handshake
/// record (content type 22), so a plaintext client is refused as `not_tls` at once, even if it sends fewer bytes
/// than a TLS record header and waits.
final class TLSRecordSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let handshakeContentType: UInt8 = 22
    private var sawFirstByte = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if sawFirstByte {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        sawFirstByte = true
        guard first == Self.handshakeContentType else {
            context.fireErrorCaught(PeerTransportError.notTLS(peer: context.channel.remoteAddress.peerDescription))
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}
