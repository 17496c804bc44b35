import Failover
import Foundation
import HostNetwork
import Logging
import PeerProtocol
import Synchronization

/// Drives the pure ``Election`` with the real clock, on a thread of its own: it takes what the links, the health
/// checks and the operator post to the ``ElectionInbox``, sends and receives the UDP heartbeats
/// (``UDPHeartbeats``), wakes exactly when the election's next deadline comes, and carries out what the election
/// decides — the role change first (``Director/transition(to:reason:)``: on a takeover the VIPs and their
/// announcement before anything else), then the hooks, then the advert, so that a director advertises a role only
/// once it holds it. Repeats the VIP announcements after a takeover and when the election asks for them again.
///
/// Nothing on this thread waits for Swift concurrency's threads, which encode snapshots and run TLS: from a peer's
/// last datagram to the VIPs announced, a takeover takes the detection time, one `poll` wake-up and the kernel's
/// address and packet calls.
struct ElectionDriver {
    let configuration: ElectionConfiguration
    let relay: AdvertRelay
    let director: Director
    let hooks: NotifyHooks?
    let announceCount: Int
    let announceInterval: Duration
    let udp: UDPHeartbeats?
    let logger: Logger

    /// The election as it stands, for `lvsync status`.
    let view: ElectionView
    /// The table's figures the adverts carry, kept fresh on the pool.
    let figures = AdvertFigures()

    /// Runs until the shutdown event was handled (the stopped advert published), or at once without a word when
    /// the task is cancelled.
    ///
    /// - Throws: ``DaemonError`` when the inbox has no wake-up pipe (no file descriptor was left at start).
    func run() async throws(DaemonError) {
        let inbox = relay.inbox
        guard let wakeup = inbox.wakeup else {
            throw DaemonError("the election cannot start: \(inbox.wakeupError.map { "\($0)" } ?? "no wake-up pipe")")
        }
        let pulse = PoolPulse(interval: min(configuration.heartbeatInterval / 5, .milliseconds(20)))
        let figures = figures
        let director = director
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pulse.run() }
            // The table's figures for the adverts, read on the pool: reading them takes the mirror's lock, which a
            // snapshot holds for a long time, and the election's thread must never wait for it.
            group.addTask {
                while !Task.isCancelled {
                    figures.store(director.tableFigures)
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let thread = Thread {
                        loop(wakeup: wakeup, pulse: pulse)
                        continuation.resume()
                    }
                    thread.name = "lvsync-election"
                    thread.start()
                }
            } onCancel: {
                inbox.cancel()
            }
            group.cancelAll()
        }
    }

    /// What the loop carries between wake-ups.
    private struct Loop {
        var election: Election
        var announcements: (left: Int, next: ContinuousClock.Instant)
        /// The advert as sent last, which the UDP path repeats every interval.
        var advert: PeerMessage.Advert?
        var nextDatagram: ContinuousClock.Instant
        /// The election's time at this wake-up.
        var time = ElectionTime.origin
    }

    private func loop(wakeup: Wakeup, pulse: PoolPulse) {
        if let udp, udp.realtimePriority > 0 { makeRealtime(priority: udp.realtimePriority) }
        // Longest sleep: the link's heartbeat over five, at most 20 ms; a wake-up this much later than asked for is a
        // stall of the thread and credited.
        let longest = min(configuration.heartbeatInterval / 5, .milliseconds(20))
        let stallAllowance = max(longest * 5, (udp?.interval ?? longest) * 2)
        var clock = ElectionClock(origin: .now, followsPool: udp == nil, allowance: stallAllowance)
        func now() -> ElectionTime { clock.time(at: .now, pulse: pulse.reading) }
        func instant(_ time: ElectionTime) -> ContinuousClock.Instant { clock.instant(of: time, pulse: pulse.reading) }
        let inbox = relay.inbox
        let incarnation = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        let (election, actions) = Election.start(configuration: configuration, incarnation: incarnation, now: now())
        var state = Loop(election: election, announcements: (0, .now), advert: nil, nextDatagram: .now)
        perform(actions, &state)
        let sockets = udp.map { [$0.socket] } ?? []
        var lastSuppressedReport = ContinuousClock.now
        while true {
            let started = ContinuousClock.now
            var wake = started + longest
            if let deadline = state.election.nextDeadline(after: now()) { wake = min(wake, instant(deadline)) }
            if state.announcements.left > 0 { wake = min(wake, state.announcements.next) }
            if udp != nil, state.advert != nil { wake = min(wake, state.nextDatagram) }
            // A deadline of a clock that stands still (the pool's pulse is late) is no reason to spin: the next beat is.
            if clock.isWaitingForPool(at: started, pulse: pulse.reading) { wake = max(wake, started + pulse.interval) }
            let readable = wait(readable: sockets, wakeup: wakeup, timeout: wake - started)
            if inbox.isCancelled { return }
            let woke = ContinuousClock.now
            if woke - wake > stallAllowance {
                clock.threadStalled += woke - wake
                logger.debug("the election's own thread stalled", metadata: ["stall": "\(woke - wake)"])
            }
            state.time = now()
            // Datagrams first: whatever arrived while this thread waited is a sign of life before any deadline is
            // judged.
            if let udp, readable.first == true { receive(udp.receiveAll(), &state, now: now()) }
            for event in inbox.take() {
                if handle(event, &state, now: now()) { return }
            }
            // Whatever came while the events were handled is read before time is judged, and time this thread
            // spent busy beyond the allowance (a takeover's netlink calls, a lock) is credited like a late wake-up.
            if let udp { receive(udp.receiveAll(), &state, now: now()) }
            let busy = ContinuousClock.now - woke
            if busy > stallAllowance { clock.threadStalled += busy - stallAllowance }
            perform(state.election.tick(now: now()), &state)
            if state.announcements.left > 0, ContinuousClock.now >= state.announcements.next {
                director.announce()
                state.announcements.left -= 1
                state.announcements.next = .now + announceInterval
            }
            if inbox.isCancelled { return }
            if let udp, let advert = state.advert, ContinuousClock.now >= state.nextDatagram {
                udp.send(advert)
                state.nextDatagram = .now + udp.interval
            }
            if let udp, ContinuousClock.now - lastSuppressedReport >= .seconds(10) {
                // A flood that stopped still gets its "N more suppressed" line.
                udp.exchange.reportSuppressed()
                lastSuppressedReport = .now
            }
        }
    }

    /// Puts this thread under `SCHED_FIFO` at `priority`: busy processes on every core then cannot hold a heartbeat
    /// back for more than the kernel's scheduling latency. Refused (no `CAP_SYS_NICE`, an `RLIMIT_RTPRIO` of 0, a
    /// cgroup v2 whose cpu controller is on): a warning, and the thread runs at the normal priority.
    private func makeRealtime(priority: Int) {
        var parameters = sched_param()
        parameters.sched_priority = Int32(priority)
        let status = pthread_setschedparam(pthread_self(), SCHED_FIFO, &parameters)
        if status == 0 {
            logger.info(
                "the election's thread runs real-time",
                metadata: ["policy": "SCHED_FIFO", "priority": "\(priority)"]
            )
        } else {
            logger.warning(
                "the election's thread cannot run real-time: it runs at the normal priority, and busy processes can delay its heartbeats",
                metadata: ["priority": "\(priority)", "error": "\(String(cString: strerror(status)))"]
            )
        }
    }

    /// Takes the adverts that came by the UDP path.
    private func receive(_ adverts: [PeerMessage.Advert], _ state: inout Loop, now time: ElectionTime) {
        for advert in adverts {
            director.heard(advert)
            perform(state.election.heartbeatReceived(PeerAdvert(advert), path: .udp, now: time), &state)
        }
    }

    /// Takes one event; true when the loop must end (the shutdown was carried out).
    private func handle(_ event: ElectionEvent, _ state: inout Loop, now time: ElectionTime) -> Bool {
        let actions: [Election.Action]
        switch event {
        case .advert(let advert, let path):
            director.heard(advert)
            actions = state.election.heartbeatReceived(PeerAdvert(advert), path: path, now: time)
        case .linkLost(let peer):
            actions = state.election.peerLinkLost(peer, now: time)
        case .syncStatus(let inSync):
            actions = state.election.syncStatusChanged(inSync: inSync, now: time)
        case .health(let name, let ok):
            logger.log(
                level: ok ? .info : .warning,
                ok ? "health condition recovered" : "health condition fails",
                metadata: ["condition": "\(name)"]
            )
            actions = state.election.healthChanged(HealthCondition(name), ok: ok, now: time)
        case .handover(let wait, let reply):
            actions = state.election.requestHandover(now: time, waitingAtMost: wait)
            let failure = actions.lazy.compactMap { action -> String? in
                if case .handoverFailed(let error) = action { return "\(error)" }
                return nil
            }.first
            reply(failure)
        case .shutdown:
            perform(state.election.shutdown(now: time), &state)
            // Let the links write the stopped advert before the service ends them.
            Thread.sleep(forTimeInterval: 0.05)
            return true
        }
        perform(actions, &state)
        return false
    }

    private func perform(_ actions: [Election.Action], _ state: inout Loop) {
        var adverts: [PeerAdvert] = []
        for action in actions {
            switch action {
            case .becomeActive(let reason):
                let decided = ContinuousClock.now
                director.transition(to: .active, reason: reason.description)
                state.announcements = (max(0, announceCount - 1), .now + announceInterval)
                if let steps = director.lastTakeover {
                    logger.notice(
                        "took over",
                        metadata: [
                            "reason": "\(reason)",
                            "vips_added_us": "\(steps.vipsAdded.map { $0.wholeMicroseconds } ?? -1)",
                            "announced_us": "\(steps.announced.map { $0.wholeMicroseconds } ?? -1)",
                            "sync_master_us": "\(steps.syncMaster.wholeMicroseconds)",
                            "total_us": "\((ContinuousClock.now - decided).wholeMicroseconds)",
                        ]
                    )
                }
            case .becomeStandby(let reason):
                director.transition(to: .standby, reason: reason.description)
                state.announcements.left = 0
            case .enterFault(let reason):
                director.transition(to: .fault, reason: reason.description)
                state.announcements.left = 0
            case .stop(let reason):
                director.transition(to: .stopped, reason: reason.description)
                state.announcements.left = 0
            case .notify(let old, let new, let reason):
                logger.notice(
                    "election: \(old) → \(new)",
                    metadata: ["from": "\(old)", "to": "\(new)", "reason": "\(reason)"]
                )
                hooks?.run(old: old, new: new, reason: reason.description)
            case .reannounce(let cause):
                // As after a takeover: now, then the rest of the configured count an interval apart.
                logger.notice("announcing the VIPs again", metadata: ["reason": "\(cause)"])
                director.announce()
                state.announcements = (max(0, announceCount - 1), .now + announceInterval)
            case .sendHeartbeat(let advert):
                adverts.append(advert)
            case .handoverFailed(let error):
                logger.warning("planned handover failed", metadata: ["error": "\(error)"])
            }
        }
        if let advert = adverts.last, !relay.inbox.isCancelled {
            let figures = self.figures.load() ?? director.tableFigures
            let wire = PeerMessage.Advert(
                advert,
                tableSize: UInt64(figures.size),
                position: figures.position,
                kernelConnections: figures.kernel.map(UInt64.init)
            )
            // The UDP path first: it is the one a peer's election waits on.
            if let udp {
                udp.send(wire)
                state.nextDatagram = .now + udp.interval
            }
            state.advert = wire
            relay.publish(wire)
        }
        view.update(state.election, at: state.time)
    }
}

/// The table's figures for the adverts, as last read on the pool (the mirror's lock can be held for long).
final class AdvertFigures: Sendable {
    private let value = Mutex<(size: Int, position: PeerMessage.Position, kernel: Int?)?>(nil)

    func store(_ figures: (size: Int, position: PeerMessage.Position, kernel: Int?)) {
        value.withLock { $0 = figures }
    }

    func load() -> (size: Int, position: PeerMessage.Position, kernel: Int?)? { value.withLock { $0 } }
}

/// The election's state for readers outside its loop (`lvsync status`, the drill).
public final class ElectionView: Sendable {
    private let state = Mutex<(election: Election?, time: ElectionTime, updated: ContinuousClock.Instant)>(
        (nil, .origin, .now)
    )

    /// Nothing yet.
    public init() {}

    func update(_ election: Election, at time: ElectionTime) { state.withLock { $0 = (election, time, .now) } }

    /// The election as the driver last left it.
    public var election: Election? { state.withLock { $0.election } }

    /// The election's time now, as near as a reader outside its loop can tell (its time at the last update, plus
    /// the real time since).
    public var electionTimeNow: ElectionTime {
        state.withLock { $0.time + (ContinuousClock.now - $0.updated) }
    }
}

extension Duration {
    /// The duration in whole microseconds, rounded down.
    var wholeMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}

extension PeerAdvert {
    /// The election's view of an advert from the wire.
    init(_ advert: PeerMessage.Advert) {
        self.init(
            node: advert.node,
            priority: advert.priority,
            state: ElectionState(rawValue: advert.state.rawValue) ?? .fault,
            inSync: advert.inSync,
            incarnation: advert.incarnation,
            sequence: advert.sequence,
            handoverTo: advert.handoverTo
        )
    }
}

extension PeerMessage.Advert {
    /// An advert for the wire from the election's, with this director's table figures.
    init(_ advert: PeerAdvert, tableSize: UInt64, position: PeerMessage.Position, kernelConnections: UInt64?) {
        self.init(
            node: advert.node,
            priority: advert.priority,
            state: PeerMessage.ElectionState(rawValue: advert.state.rawValue) ?? .fault,
            inSync: advert.inSync,
            incarnation: advert.incarnation,
            sequence: advert.sequence,
            handoverTo: advert.handoverTo,
            tableSize: tableSize,
            position: position,
            kernelConnections: kernelConnections
        )
    }
}
