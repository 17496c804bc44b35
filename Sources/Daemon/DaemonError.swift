/// Why the daemon cannot do its work: a sentence for the operator, naming what to change.
public struct DaemonError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }

    /// An active director without a listener address.
    static let noListener = DaemonError(
        "an active director needs a listener address ('listen' in the configuration) for its standbys"
    )
}
