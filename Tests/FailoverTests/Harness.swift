import Failover

/// Milliseconds since the origin.
func t(_ milliseconds: Int64) -> ElectionTime { .milliseconds(milliseconds) }

/// Heartbeat 100 ms, dead interval 300 ms, boot wait 1 s unless told.
func configuration(
    _ node: String,
    priority: Int,
    preempt: Bool = true,
    preemptDelay: Duration = .zero,
    bootWait: Duration = .seconds(1),
    health: [HealthCondition: HealthResponse] = [:]
) throws -> ElectionConfiguration {
    try ElectionConfiguration(
        node: node,
        priority: priority,
        preempt: preempt,
        preemptDelay: preemptDelay,
        heartbeatInterval: .milliseconds(100),
        deadInterval: .milliseconds(300),
        bootWait: bootWait,
        healthConditions: health
    )
}

/// A peer played by the test: numbers its adverts.
struct FakePeer {
    var node: String
    var incarnation: UInt64 = 77
    var sequence: UInt64 = 0

    init(_ node: String) { self.node = node }

    mutating func says(
        _ state: ElectionState,
        priority: Int,
        inSync: Bool = false,
        handoverTo: String? = nil
    ) -> PeerAdvert {
        sequence += 1
        return PeerAdvert(
            node: node,
            priority: priority,
            state: state,
            inSync: inSync,
            incarnation: incarnation,
            sequence: sequence,
            handoverTo: handoverTo
        )
    }
}

extension Array where Element == Election.Action {
    /// The states the actions move to, in order (fault → initialising shows as a notification only).
    var transitions: [ElectionState] {
        compactMap {
            if case .notify(_, let new, _) = $0 { return new }
            return nil
        }
    }

    /// The reasons of the transitions, in order.
    var reasons: [Election.Reason] {
        compactMap {
            if case .notify(_, _, let reason) = $0 { return reason }
            return nil
        }
    }

    /// The re-announcements asked for, in order.
    var reannouncements: [Election.ReannounceCause] {
        compactMap {
            if case .reannounce(let cause) = $0 { return cause }
            return nil
        }
    }

    /// The adverts to send.
    var adverts: [PeerAdvert] {
        compactMap {
            if case .sendHeartbeat(let advert) = $0 { return advert }
            return nil
        }
    }

    /// The handover failures.
    var handoverFailures: [FailoverError] {
        compactMap {
            if case .handoverFailed(let error) = $0 { return error }
            return nil
        }
    }

    /// Whether the actions tell the driver to take the VIPs.
    var takesVIPs: Bool {
        contains {
            if case .becomeActive = $0 { return true }
            return false
        }
    }
}

/// Starts a director (incarnation 1) and returns it with its first actions.
func started(_ configuration: ElectionConfiguration, at now: ElectionTime = t(0)) -> (Election, [Election.Action]) {
    Election.start(configuration: configuration, incarnation: 1, now: now)
}
