import NIOCore

/// What both session machines need to know about this side of a link.
public struct SessionConfiguration: Hashable, Sendable {
    /// This director's node name (the identity its certificate proves).
    public var node: String
    /// The kernel sync ID both directors use.
    public var syncID: UInt8
    /// Send a heartbeat after this long without sending anything.
    public var heartbeatInterval: TimeAmount
    /// Give up on a peer heard nothing from (or, for a sender, that acknowledged nothing in flight) for this long.
    public var deadInterval: TimeAmount
    /// The largest frame accepted, in bytes.
    public var maximumFrameLength: Int
    /// Sender: the most bytes of messages sent and not yet acknowledged.
    public var windowBytes: Int
    /// Sender: the size of a snapshot chunk's messages, in bytes.
    public var chunkBytes: Int

    /// Creates a configuration.
    public init(
        node: String,
        syncID: UInt8,
        heartbeatInterval: TimeAmount = .milliseconds(100),
        deadInterval: TimeAmount = .milliseconds(500),
        maximumFrameLength: Int = 1 << 20,
        windowBytes: Int = 8 << 20,
        chunkBytes: Int = 256 << 10
    ) {
        self.node = node
        self.syncID = syncID
        self.heartbeatInterval = heartbeatInterval
        self.deadInterval = deadInterval
        self.maximumFrameLength = maximumFrameLength
        self.windowBytes = windowBytes
        self.chunkBytes = chunkBytes
    }

    /// This side's hello.
    func hello(role: PeerMessage.Role, position: PeerMessage.Position) -> PeerMessage.Hello {
        PeerMessage.Hello(
            node: node,
            syncID: syncID,
            role: role,
            position: position,
            heartbeatInterval: heartbeatInterval,
            maximumFrameLength: maximumFrameLength
        )
    }

    /// Checks the peer's hello against this side and the identity the peer's certificate proved.
    func check(_ hello: PeerMessage.Hello, authenticatedPeer: String, ourRole: PeerMessage.Role) -> PeerProtocolError? {
        if hello.protocolVersion != PeerProtocolVersion.current {
            return PeerProtocolError(.protocolVersion(peer: hello.protocolVersion, ours: PeerProtocolVersion.current))
        }
        if hello.node != authenticatedPeer {
            return PeerProtocolError(.unexpectedNode(hello: hello.node, authenticated: authenticatedPeer))
        }
        if hello.syncID != syncID { return PeerProtocolError(.syncIDMismatch(peer: hello.syncID, ours: syncID)) }
        if hello.role == ourRole { return PeerProtocolError(.roleConflict(ourRole)) }
        return nil
    }
}

extension TimeAmount {
    /// Whole milliseconds, for messages.
    var wholeMilliseconds: Int64 { nanoseconds / 1_000_000 }
}
