import Crypto
import Foundation
import PeerProtocol

/// The second heartbeat path's datagram: an election advert, authenticated with HMAC-SHA256 over a key both
/// directors share, so that a link failure need not become a split brain (see the Failover README).
///
/// Layout (version 3), integers big-endian:
///
/// | bytes | field |
/// |---|---|
/// | 4 | `LVHB` |
/// | 1 | version, 3 |
/// | 8 | the sender's nonce: drawn at random when its process started |
/// | 8 | the echo: the newest nonce the sender authenticated from the datagram's recipient, 0 for none yet |
/// | 8 | the datagram's number: the sender's datagrams count up from 1 (the same advert goes out every interval) |
/// | 2 | the advert's length |
/// | n | the advert (the peer protocol's frame payload) |
/// | 32 | HMAC-SHA256 of everything before it |
///
/// The nonces make an old datagram useless: a receiver counts an advert only when it echoes the receiver's own
/// nonce, which no datagram made before that receiver started can carry (see ``HeartbeatFreshness``), and a datagram
/// counts only with a number higher than the last one counted. Versions 1 (without the nonces) and 2 (without the
/// number: the advert's own sequence, which a fast path repeats, stood in for it) are refused. Anything else is refused with a reason; nothing in a refused datagram reaches the
/// election.
public struct HeartbeatDatagram: Sendable {
    /// What an authenticated datagram carries.
    public struct Opened: Equatable, Sendable {
        /// The sender's advert.
        public var advert: PeerMessage.Advert
        /// The sender's nonce.
        public var nonce: UInt64
        /// The nonce the sender echoes back (the recipient's, when the sender has heard it), 0 for none.
        public var echo: UInt64
        /// The datagram's number among the sender's.
        public var number: UInt64
    }

    /// Why a datagram was refused.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        /// The kind of refusal, as the ignored-datagram counter's `reason` names it.
        public enum Reason: String, Sendable {
            /// The HMAC does not match: another key, or altered on the way.
            case badMAC = "bad_mac"
            /// Not a datagram of this version and layout.
            case malformed
        }

        /// The kind.
        public var reason: Reason
        /// What was wrong, for the log.
        public var detail: String

        public var description: String { "a heartbeat datagram was refused: \(detail)" }
    }

    /// The shared key.
    let key: SymmetricKey

    static let magic: [UInt8] = Array("LVHB".utf8)
    static let version: UInt8 = 3
    static let tagLength = 32
    static let headerLength = 31

    /// A codec with this key (at least 16 bytes).
    public init(key: [UInt8]) throws(DaemonError) {
        guard key.count >= 16 else {
            throw DaemonError(
                "the heartbeat key has \(key.count) bytes; it needs at least 16 (32 random bytes is good)"
            )
        }
        self.key = SymmetricKey(data: key)
    }

    /// The datagram for `advert`, with the sender's `nonce`, the `echo` of the recipient's and the datagram's
    /// `number`.
    public func seal(_ advert: PeerMessage.Advert, nonce: UInt64, echo: UInt64, number: UInt64) -> [UInt8] {
        let payload = PeerMessage.advert(advert).serializedBytes()
        var bytes = Self.magic
        bytes.append(Self.version)
        Self.append(nonce, to: &bytes)
        Self.append(echo, to: &bytes)
        Self.append(number, to: &bytes)
        bytes.append(UInt8(truncatingIfNeeded: payload.count >> 8))
        bytes.append(UInt8(truncatingIfNeeded: payload.count))
        bytes += payload
        bytes += Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key))
        return bytes
    }

    /// What `datagram` carries, or why it is refused.
    public func open(_ datagram: [UInt8]) -> Result<Opened, Refusal> {
        func refuse(_ reason: Refusal.Reason, _ detail: String) -> Result<Opened, Refusal> {
            .failure(Refusal(reason: reason, detail: detail))
        }
        guard datagram.count >= Self.headerLength + Self.tagLength else {
            return refuse(.malformed, "\(datagram.count) bytes is shorter than a header and a tag")
        }
        guard Array(datagram[0..<4]) == Self.magic else { return refuse(.malformed, "it does not start with LVHB") }
        guard datagram[4] == Self.version else {
            return refuse(.malformed, "version \(datagram[4]), expected \(Self.version)")
        }
        let length = Int(datagram[29]) << 8 | Int(datagram[30])
        guard datagram.count == Self.headerLength + length + Self.tagLength else {
            return refuse(
                .malformed,
                "it says \(length) advert bytes but has \(datagram.count - Self.headerLength - Self.tagLength)"
            )
        }
        let body = datagram[0..<(Self.headerLength + length)]
        let tag = datagram[(Self.headerLength + length)...]
        guard HMAC<SHA256>.isValidAuthenticationCode(Array(tag), authenticating: Array(body), using: key) else {
            return refuse(.badMAC, "its HMAC does not match (another key, or altered on the way)")
        }
        let payload = datagram[Self.headerLength..<(Self.headerLength + length)]
        do {
            guard case .advert(let advert) = try PeerMessage(serializedBytes: Array(payload)) else {
                return refuse(.malformed, "it carries no advert")
            }
            return .success(
                Opened(
                    advert: advert,
                    nonce: Self.integer(datagram[5..<13]),
                    echo: Self.integer(datagram[13..<21]),
                    number: Self.integer(datagram[21..<29])
                )
            )
        } catch {
            return refuse(.malformed, "its advert does not decode: \(error)")
        }
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    private static func integer(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
