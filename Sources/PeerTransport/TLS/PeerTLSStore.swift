import Synchronization

/// The TLS material in use, swappable while the daemon runs: the listener and the dialer read ``current`` for each
/// new connection, so a ``replace(with:)`` (a reload with renewed certificate files) applies to every link made after
/// it, and links already up keep the material they were made with.
public final class PeerTLSStore: Sendable {
    private let tls: Mutex<(material: PeerTLS, generation: Int)>

    /// A store holding `tls`.
    public init(_ tls: PeerTLS) {
        self.tls = Mutex((tls, 0))
    }

    /// The material for the next connection.
    public var current: PeerTLS { tls.withLock { $0.material } }

    /// How many times the material was replaced: a link made with generation N was made with older material once
    /// this is larger.
    public var generation: Int { tls.withLock { $0.generation } }

    /// Puts `tls` in use for the connections made from now on; returns the material it replaced.
    @discardableResult
    public func replace(with tls: PeerTLS) -> PeerTLS {
        self.tls.withLock { current in
            defer { current = (tls, current.generation + 1) }
            return current.material
        }
    }
}
