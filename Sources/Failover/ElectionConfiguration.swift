/// One director's election settings, validated when made.
public struct ElectionConfiguration: Hashable, Sendable {
    /// This director's node name: the name its certificate proves and its adverts carry. Breaks priority ties.
    public let node: String
    /// The configured priority, 1 to 255; higher wins.
    public let priority: Int
    /// Whether a standby of higher effective priority takes over from a live active (see ``Election``).
    public let preempt: Bool
    /// How long the conditions for preemption must hold without a break before the standby takes over.
    public let preemptDelay: Duration
    /// How often this director advertises itself while nothing changes (a change is advertised at once).
    public let heartbeatInterval: Duration
    /// A peer not heard from on any path for this long is dead. Longer than the heartbeat interval.
    public let deadInterval: Duration
    /// The UDP path's detection time (its interval times its multiplier), nil without the path: a peer whose UDP
    /// heartbeats stop for this long is dead, however recently the peer link delivered an advert — unless the link
    /// delivers one after that (the UDP path failed, not the peer). See ``Election`` (liveness).
    public let udpDetectionTime: Duration?
    /// How long a starting director waits to hear a peer before it claims the VIPs on its own. At least the
    /// heartbeat interval; the dead interval plus the peer link's connection time is a good choice.
    public let bootWait: Duration
    /// The health conditions this director watches and what each does while it fails. A condition not listed is
    /// ignored.
    public let healthConditions: [HealthCondition: HealthResponse]

    /// Validates and makes a configuration.
    ///
    /// - Throws: ``FailoverError`` naming the first value out of range.
    public init(
        node: String,
        priority: Int,
        preempt: Bool = true,
        preemptDelay: Duration = .zero,
        heartbeatInterval: Duration = .milliseconds(100),
        deadInterval: Duration = .milliseconds(500),
        bootWait: Duration = .seconds(2),
        udpDetectionTime: Duration? = nil,
        healthConditions: [HealthCondition: HealthResponse] = [:]
    ) throws(FailoverError) {
        func refuse(_ key: String, _ detail: String) -> FailoverError {
            FailoverError(.invalidConfiguration(key: key, detail: detail))
        }
        guard !node.isEmpty else { throw refuse("node", "the node name is empty") }
        guard (1...255).contains(priority) else {
            throw refuse("priority", "expected a whole number from 1 to 255, found \(priority)")
        }
        guard preemptDelay >= .zero else {
            throw refuse("preempt_delay", "must not be negative, found \(preemptDelay)")
        }
        guard heartbeatInterval > .zero else {
            throw refuse("heartbeat_interval", "must be positive, found \(heartbeatInterval)")
        }
        guard deadInterval > heartbeatInterval else {
            throw refuse(
                "dead_interval",
                "must be longer than the heartbeat interval (\(heartbeatInterval)), found \(deadInterval)"
            )
        }
        guard bootWait >= heartbeatInterval else {
            throw refuse(
                "boot_wait",
                "must be at least the heartbeat interval (\(heartbeatInterval)), found \(bootWait): "
                    + "a director that waits less claims the VIPs before its peer can answer"
            )
        }
        if let udpDetectionTime, udpDetectionTime <= .zero {
            throw refuse("udp_detection_time", "must be positive, found \(udpDetectionTime)")
        }
        for (condition, response) in healthConditions.sorted(by: { $0.key < $1.key }) {
            if case .lowerPriority(let penalty) = response, !(1...254).contains(penalty) {
                throw refuse(
                    "health.\(condition.name)",
                    "a priority penalty must be a whole number from 1 to 254, found \(penalty)"
                )
            }
        }
        self.node = node
        self.priority = priority
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.heartbeatInterval = heartbeatInterval
        self.deadInterval = deadInterval
        self.bootWait = bootWait
        self.udpDetectionTime = udpDetectionTime
        self.healthConditions = healthConditions
    }
}
