import Crypto
import Foundation
import PeerProtocol

/// The second heartbeat path's datagram: an election advert, authenticated with HMAC-SHA256 over a key both
/// directors share, so that a link failure need not become a split brain (see the Failover README).
///
/// Layout: `LVHB` (4 bytes), version 1 (1 byte), the advert's length (2 bytes, big-endian), the advert (the peer
/// protocol's frame payload), then the 32-byte HMAC-SHA256 of everything before it. Anything else is refused with a
/// reason; nothing in a refused datagram reaches the election.
public struct HeartbeatDatagram: Sendable {
    /// The shared key.
    let key: SymmetricKey

    static let magic: [UInt8] = Array("LVHB".utf8)
    static let version: UInt8 = 1
    static let tagLength = 32
    static let headerLength = 7

    /// A codec with this key (at least 16 bytes).
    public init(key: [UInt8]) throws(DaemonError) {
        guard key.count >= 16 else {
            throw DaemonError(
                "the heartbeat key has \(key.count) bytes; it needs at least 16 (32 random bytes is good)"
            )
        }
        self.key = SymmetricKey(data: key)
    }

    /// The datagram for `advert`.
    public func seal(_ advert: PeerMessage.Advert) -> [UInt8] {
        let payload = PeerMessage.advert(advert).serializedBytes()
        var bytes = Self.magic
        bytes.append(Self.version)
        bytes.append(UInt8(truncatingIfNeeded: payload.count >> 8))
        bytes.append(UInt8(truncatingIfNeeded: payload.count))
        bytes += payload
        bytes += Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key))
        return bytes
    }

    /// The advert in `datagram`, or why it is refused.
    public func open(_ datagram: [UInt8]) -> Result<PeerMessage.Advert, DaemonError> {
        func refuse(_ reason: String) -> Result<PeerMessage.Advert, DaemonError> {
            .failure(DaemonError("a heartbeat datagram was refused: \(reason)"))
        }
        guard datagram.count >= Self.headerLength + Self.tagLength else {
            return refuse("\(datagram.count) bytes is shorter than a header and a tag")
        }
        guard Array(datagram[0..<4]) == Self.magic else { return refuse("it does not start with LVHB") }
        guard datagram[4] == Self.version else { return refuse("version \(datagram[4]), expected \(Self.version)") }
        let length = Int(datagram[5]) << 8 | Int(datagram[6])
        guard datagram.count == Self.headerLength + length + Self.tagLength else {
            return refuse(
                "it says \(length) advert bytes but has \(datagram.count - Self.headerLength - Self.tagLength)"
            )
        }
        let body = datagram[0..<(Self.headerLength + length)]
        let tag = datagram[(Self.headerLength + length)...]
        guard HMAC<SHA256>.isValidAuthenticationCode(Array(tag), authenticating: Array(body), using: key) else {
            return refuse("its HMAC does not match (another key, or altered on the way)")
        }
        let payload = datagram[Self.headerLength..<(Self.headerLength + length)]
        do {
            guard case .advert(let advert) = try PeerMessage(serializedBytes: Array(payload)) else {
                return refuse("it carries no advert")
            }
            return .success(advert)
        } catch {
            return refuse("its advert does not decode: \(error)")
        }
    }
}
