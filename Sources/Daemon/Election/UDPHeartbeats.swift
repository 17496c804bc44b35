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
/// advert names, and it is fresh: it echoes this process's nonce, or it is a later advert of an incarnation that did
/// (``HeartbeatFreshness``), so that no datagram made before this process started, replayed, is a sign of life. Every
/// other datagram is counted and logged, a few lines at most (``HeartbeatExchange``).
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
    let exchange: HeartbeatExchange
    let relay: AdvertRelay
    let logger: Logger

    /// Creates the path, with a fresh nonce for this process.
    public init(listen: SocketAddress, peers: [Peer], codec: HeartbeatDatagram, relay: AdvertRelay, logger: Logger) {
        self.init(
            listen: listen,
            peers: peers,
            exchange: HeartbeatExchange(codec: codec, peers: peers, logger: logger),
            relay: relay,
            logger: logger
        )
    }

    /// Creates the path with `exchange` (its codec, peers and nonce).
    public init(listen: SocketAddress, peers: [Peer], exchange: HeartbeatExchange, relay: AdvertRelay, logger: Logger) {
        self.listen = listen
        self.peers = peers
        self.exchange = exchange
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
        let (exchange, relay, peers) = (exchange, relay, peers)
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let (id, adverts) = relay.subscribe()
                    defer { relay.unsubscribe(id) }
                    for await advert in adverts {
                        for peer in peers {
                            let bytes = ByteBuffer(bytes: exchange.datagram(advert, to: peer.name))
                            try? await outbound.write(AddressedEnvelope(remoteAddress: peer.address, data: bytes))
                        }
                    }
                }
                group.addTask {
                    for try await envelope in inbound {
                        let bytes = Array(envelope.data.readableBytesView)
                        if let advert = exchange.receive(bytes, from: envelope.remoteAddress) {
                            relay.post(.advert(advert, path: .udp))
                        }
                    }
                }
                group.addTask {
                    // A flood that stopped still gets its "N more suppressed" line.
                    while true {
                        try await Task.sleep(for: .seconds(10))
                        exchange.reportSuppressed()
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}
