/// Why an election configuration was refused or a planned handover did not happen. Each has a short ``code`` for
/// log fields and counter labels and a sentence.
public struct FailoverError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Hashable, Sendable {
        /// A configuration value is out of range; `key` names it as the configuration file does.
        case invalidConfiguration(key: String, detail: String)
        /// A handover was asked of a director that cannot give one (not active, no live peer).
        case handoverNotPossible(String)
        /// No peer advertised an in-sync table before the handover's deadline.
        case handoverNoInSyncPeer(waited: Duration)
        /// The chosen peer did not advertise itself active within the dead interval after the handover.
        case handoverNotTaken(target: String, waited: Duration)
    }

    /// What went wrong.
    public var reason: Reason

    /// Creates an error.
    public init(_ reason: Reason) { self.reason = reason }

    /// A short stable name for log fields and metric labels.
    public var code: String {
        switch reason {
        case .invalidConfiguration: "invalid_configuration"
        case .handoverNotPossible: "handover_not_possible"
        case .handoverNoInSyncPeer: "handover_no_in_sync_peer"
        case .handoverNotTaken: "handover_not_taken"
        }
    }

    public var description: String {
        switch reason {
        case .invalidConfiguration(let key, let detail):
            "election.\(key): \(detail)"
        case .handoverNotPossible(let detail):
            "no handover: \(detail)"
        case .handoverNoInSyncPeer(let waited):
            "no handover: no standby advertised an in-sync table within \(waited)"
        case .handoverNotTaken(let target, let waited):
            "handover to \(target) failed: it did not advertise itself active within \(waited)"
        }
    }
}
