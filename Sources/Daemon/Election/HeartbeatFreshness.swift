/// Which authenticated heartbeat datagrams on the second path are a sign of life: a pure state machine (the nonces
/// are passed in, no clock is needed).
///
/// Each receiving process draws a random nonce when it starts (``nonce``); every datagram it sends carries that
/// nonce and echoes the newest nonce it authenticated from the recipient (``echo(for:)``). For each peer:
///
/// 1. A datagram of a *retired* incarnation (a life of the peer that a later one replaced) is refused: `stale`.
/// 2. A datagram of the peer's *current* incarnation counts when its sequence is higher than the last one counted;
///    otherwise it is a copy or a replay: `replay`. (The current incarnation once echoed this process's nonce, so
///    each of its later adverts was made after this process started.)
/// 3. A datagram of *another* incarnation (higher or lower: the peer restarted, perhaps with its clock stepped back)
///    counts only when it echoes this process's nonce: `not_fresh` otherwise (a replay from before this process
///    started cannot carry it; a restarted receiver needs one round trip before the path counts). When it counts,
///    it is the peer's new life: the old incarnation is retired (the last ``retiredLimit`` are kept).
///
/// The sender's nonce is taken as the echo from every datagram that passes 1 and 2 (and is not a copy of a
/// not-yet-fresh datagram), whether it counts or not: a restarted peer learns this process's nonce only from the
/// reply to its own.
public struct HeartbeatFreshness: Sendable {
    /// What to make of a datagram.
    public enum Verdict: Equatable, Sendable {
        /// A sign of life.
        case alive
        /// A sign of life in a new incarnation; `retired`, the peer's previous one, is refused from now on.
        case newLife(retired: UInt64)
        /// Not a sign of life.
        case ignored(Reason)
    }

    /// Why a datagram is no sign of life, as the ignored-datagram counter's `reason` names it.
    public enum Reason: String, Sendable {
        /// It belongs to a retired incarnation.
        case stale
        /// A copy of, or older than, one already taken.
        case replay
        /// Another incarnation that does not echo this process's nonce: possibly made before this process started.
        case notFresh = "not_fresh"
    }

    private struct Peer {
        var echo: UInt64 = 0
        var current: (incarnation: UInt64, sequence: UInt64)?
        var candidate: (incarnation: UInt64, sequence: UInt64)?
        var retired: [UInt64] = []
    }

    /// This process's nonce.
    public let nonce: UInt64
    /// How many retired incarnations are kept per peer.
    public let retiredLimit: Int
    private var peers: [String: Peer] = [:]

    /// The state of a process that drew `nonce` (never 0: 0 means "no echo").
    public init(nonce: UInt64, retiredLimit: Int = 16) {
        precondition(nonce != 0, "a heartbeat nonce is never 0")
        self.nonce = nonce
        self.retiredLimit = max(1, retiredLimit)
    }

    /// A random nonce, never 0.
    public static func randomNonce() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return UInt64.random(in: 1...UInt64.max, using: &generator)
    }

    /// The nonce a datagram to `node` echoes: the newest one authenticated from it, 0 for none yet.
    public func echo(for node: String) -> UInt64 {
        peers[node]?.echo ?? 0
    }

    /// What an authenticated datagram from `node` is: its advert's `incarnation` and `sequence`, the sender's
    /// `senderNonce` and the nonce it `echo`es.
    public mutating func receive(
        from node: String,
        incarnation: UInt64,
        sequence: UInt64,
        senderNonce: UInt64,
        echo: UInt64
    ) -> Verdict {
        var peer = peers[node] ?? Peer()
        defer { peers[node] = peer }
        if peer.retired.contains(incarnation) { return .ignored(.stale) }
        if let current = peer.current, current.incarnation == incarnation {
            guard sequence > current.sequence else { return .ignored(.replay) }
            peer.current = (incarnation, sequence)
            peer.echo = senderNonce
            return .alive
        }
        if let candidate = peer.candidate, candidate.incarnation == incarnation, sequence <= candidate.sequence {
            return .ignored(.replay)
        }
        peer.echo = senderNonce
        guard echo == nonce else {
            peer.candidate = (incarnation, sequence)
            return .ignored(.notFresh)
        }
        peer.candidate = nil
        let previous = peer.current?.incarnation
        peer.current = (incarnation, sequence)
        guard let previous else { return .alive }
        peer.retired.append(previous)
        if peer.retired.count > retiredLimit { peer.retired.removeFirst(peer.retired.count - retiredLimit) }
        return .newLife(retired: previous)
    }
}
