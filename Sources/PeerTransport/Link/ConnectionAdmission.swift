import NIOCore
import Synchronization

/// Admission control for a listener that anyone who reaches its port can connect to: caps on the connections that
/// have not proven themselves yet (in all and per source address) and a deadline by which they must, so that a flood
/// of connections that say nothing cannot take the process's file descriptors (a director whose descriptors run out
/// cannot probe its servers, reach the kernel or hold its role).
///
/// Call ``admit(_:)`` first thing in the child channel initializer, before any handler is added: a connection over a
/// cap is closed at once (nothing is allocated for it but the accepted socket), counted through `onShed`, and never
/// logged line by line. An admitted connection holds its place until its ``AdmissionTicket`` is proven (a peer's
/// hello) or it closes; one still pending at the deadline is closed and counted as ``ShedReason/helloTimeout`` (or
/// the ``Limits/deadlineReason``).
public final class ConnectionAdmission: Sendable {
    /// The caps and the deadline.
    public struct Limits: Hashable, Sendable {
        /// Connections pending at a time, in all.
        public var pending: Int
        /// Connections pending at a time from one source address.
        public var pendingPerSource: Int
        /// How long a connection may stay pending (nil: no deadline).
        public var deadline: TimeAmount?
        /// What a connection closed at the deadline counts as.
        public var deadlineReason: ShedReason

        /// The limits.
        public init(
            pending: Int = 64,
            pendingPerSource: Int = 8,
            deadline: TimeAmount? = .seconds(5),
            deadlineReason: ShedReason = .helloTimeout
        ) {
            self.pending = pending
            self.pendingPerSource = pendingPerSource
            self.deadline = deadline
            self.deadlineReason = deadlineReason
        }
    }

    /// The limits applied.
    public let limits: Limits
    private let state: Mutex<PendingAdmissions>
    private let onShed: @Sendable (ShedReason) -> Void
    private let onPending: @Sendable (Int) -> Void

    /// Admission under `limits`.
    /// - Parameters:
    ///   - onShed: told of every connection closed by a cap or the deadline (for a counter).
    ///   - onPending: told the number of pending connections whenever it changes (for a gauge).
    public init(
        limits: Limits,
        onShed: @escaping @Sendable (ShedReason) -> Void = { _ in },
        onPending: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.limits = limits
        self.state = Mutex(PendingAdmissions(maximum: limits.pending, maximumPerSource: limits.pendingPerSource))
        self.onShed = onShed
        self.onPending = onPending
    }

    /// Connections pending now.
    public var pending: Int { state.withLock { $0.pending } }

    /// Admits an accepted `channel` (call on its event loop, before any handler is added), or closes it.
    /// - Returns: its ticket, or nil when it was shed (the channel is closed).
    public func admit(_ channel: any Channel) -> AdmissionTicket? {
        let source = channel.remoteAddress?.ipAddress ?? "(unknown)"
        let shed = state.withLock { state in
            let shed = state.admit(source: source)
            if shed == nil { onPending(state.pending) }
            return shed
        }
        if let shed {
            channel.close(promise: nil)
            onShed(shed)
            return nil
        }
        let ticket = AdmissionTicket(admission: self, source: source)
        if let deadline = limits.deadline {
            let reason = limits.deadlineReason
            let scheduled = channel.eventLoop.scheduleTask(in: deadline) { [self] in
                guard ticket.release() else { return }
                onShed(reason)
                // The handlers say what the deadline means to them (the peer link's authentication fails quietly).
                channel.pipeline.fireUserInboundEventTriggered(AdmissionDeadlineExpired(reason: reason))
                channel.close(promise: nil)
            }
            ticket.deadline.withLock { $0 = scheduled }
        }
        channel.closeFuture.whenComplete { _ in ticket.proven() }
        return ticket
    }

    fileprivate func release(source: String) {
        state.withLock { state in
            state.release(source: source)
            onPending(state.pending)
        }
    }
}

/// An admitted connection's place among the pending ones: given up once, when it is ``proven()`` or closes.
public final class AdmissionTicket: Sendable {
    private let admission: ConnectionAdmission
    private let source: String
    private let released = Atomic<Bool>(false)
    fileprivate let deadline = Mutex<Scheduled<Void>?>(nil)

    fileprivate init(admission: ConnectionAdmission, source: String) {
        self.admission = admission
        self.source = source
    }

    /// Whether the place was given up (proven, closed or shed at the deadline).
    public var isReleased: Bool { released.load(ordering: .acquiring) }

    /// The connection proved itself (a peer's hello): it no longer counts as pending and its deadline is cancelled.
    public func proven() {
        _ = release()
    }

    /// Gives up the place once; true the first time.
    fileprivate func release() -> Bool {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        deadline.withLock { $0?.cancel() }
        admission.release(source: source)
        return true
    }
}

/// Fired through a connection's pipeline when it was still pending at its admission deadline, just before it is
/// closed.
public struct AdmissionDeadlineExpired: Hashable, Sendable {
    /// What the connection counts as.
    public var reason: ShedReason
}
