import Synchronization

/// The TLS material in use, swappable while the daemon runs: the listener and the dialer read ``current`` for each
/// new connection, so a ``replace(with:)`` (a reload with renewed certificate files) applies to every link made after
/// it, and links already up keep the material they were made with.
public final class PeerTLSStore: Sendable {
    private let tls: Mutex<PeerTLS>

    /// A store holding `tls`.
    public init(_ tls: PeerTLS) {
        self.tls = Mutex(tls)
    }

    /// The material for the next connection.
    public var current: PeerTLS { tls.withLock { $0 } }

    /// Puts `tls` in use for the connections made from now on; returns the material it replaced.
    @discardableResult
    public func replace(with tls: PeerTLS) -> PeerTLS {
        self.tls.withLock { current in
            defer { current = tls }
            return current
        }
    }
}
