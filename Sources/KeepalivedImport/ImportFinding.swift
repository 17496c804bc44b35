/// One line of the import's report: a keyword of the keepalived configuration that was not carried over, or was
/// carried over with a different behaviour, and why.
public struct ImportFinding: Hashable, Sendable, CustomStringConvertible {
    /// What kind of finding.
    public enum Kind: String, Hashable, Sendable {
        /// The keyword has no equivalent in lvsync: left out.
        case notCarried = "not carried"
        /// Carried over, but lvsync behaves differently: read before relying on it.
        case differs = "differs"
        /// Carried over in another form (e.g. a group expanded): for information.
        case note = "note"
    }

    /// Where the keyword was read (`file:line`).
    public var location: String
    /// The keyword (`track_script`, `digest`, …).
    public var keyword: String
    /// Its kind.
    public var kind: Kind
    /// Why, and what to do instead.
    public var reason: String

    /// `keepalived.conf:12: track_script: not carried: ...`.
    public var description: String { "\(location): \(keyword): \(kind.rawValue): \(reason)" }
}
