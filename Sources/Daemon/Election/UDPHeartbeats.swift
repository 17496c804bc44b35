import Failover
import Logging
import NIOCore
import NIOPosix
import PeerProtocol

/// The election's optional second path: this director's adverts as authenticated UDP datagrams to each peer on
/// another interface, and the peers' adverts from there to the election. A peer is alive while it is heard on
/// either path, so a cut peer link alone does not make the standby take over (see the Failover README).
///
/// A datagram counts only if its HMAC matches the shared key, it comes from the address configured for the peer its
/// advert names, and it is newer than the last one from that peer on this path (a replayed datagram is refused).
public struct UDPHeartbeats: Sendable {
    /// A peer's heartbeat address.
    public struct Peer: Sendable {
        /// The peer's node name.
        public var name: String
        /// Where its heartbeats come from and go to.
        public var address: SocketAddress

        /// Creates a peer.
        public init(name: String, address: SocketAddress) {
            self.name = name
            self.address = address
        }
    }

    let listen: SocketAddress
    let peers: [Peer]
    let codec: HeartbeatDatagram
    let relay: AdvertRelay
    let logger: Logger

    /// Creates the path.
    public init(listen: SocketAddress, peers: [Peer], codec: HeartbeatDatagram, relay: AdvertRelay, logger: Logger) {
        self.listen = listen
        self.peers = peers
        self.codec = codec
        self.relay = relay
        self.logger = logger
    }

    /// Sends and receives until cancelled.
    public func run() async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(to: listen) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        logger.info(
            "heartbeats on the second path",
            metadata: ["address": "\(listen)", "peers": "\(peers.map(\.name))"]
        )
        let (codec, relay, peers, logger) = (codec, relay, peers, logger)
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let (id, adverts) = relay.subscribe()
                    defer { relay.unsubscribe(id) }
                    for await advert in adverts {
                        let bytes = ByteBuffer(bytes: codec.seal(advert))
                        for peer in peers {
                            try? await outbound.write(AddressedEnvelope(remoteAddress: peer.address, data: bytes))
                        }
                    }
                }
                group.addTask {
                    var latest: [String: (incarnation: UInt64, sequence: UInt64)] = [:]
                    for try await envelope in inbound {
                        switch codec.open(Array(envelope.data.readableBytesView)) {
                        case .failure(let error):
                            logger.warning("\(error)", metadata: ["from": "\(envelope.remoteAddress)"])
                        case .success(let advert):
                            guard let peer = peers.first(where: { $0.name == advert.node }),
                                peer.address.ipAddress == envelope.remoteAddress.ipAddress
                            else {
                                logger.warning(
                                    "a heartbeat datagram was refused: its advert names no peer configured at its source",
                                    metadata: ["from": "\(envelope.remoteAddress)", "advert.node": "\(advert.node)"]
                                )
                                continue
                            }
                            if let last = latest[advert.node],
                                advert.incarnation < last.incarnation
                                    || (advert.incarnation == last.incarnation && advert.sequence <= last.sequence)
                            {
                                continue  // a copy or a replay: not a sign of life
                            }
                            latest[advert.node] = (advert.incarnation, advert.sequence)
                            relay.post(.advert(advert, path: .udp))
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}
