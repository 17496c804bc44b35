/// Every error of the Control module: a sentence saying what is wrong, and its kind for a program to branch on.
///
/// A daemon's `{"error":...}` reply reaches the client as a ``ControlError`` of kind ``Kind/daemon`` carrying the
/// daemon's sentence; a responder throws one to send its sentence to the client.
public struct ControlError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: String, Hashable, Sendable {
        /// Nothing answers at the socket path (no file, or nobody listening).
        case noDaemon
        /// The socket exists but this user may not use it.
        case permissionDenied
        /// Another daemon answers at the path a server wants.
        case anotherDaemon
        /// The path a server wants holds something that is not a socket, or cannot be prepared.
        case unusablePath
        /// A request or reply line is not what the protocol says (bad JSON, missing command, too long).
        case malformed
        /// The daemon answered with `{"error":...}`, or a responder refused a request.
        case daemon
        /// The other side closed the connection (a client that went away, a reply cut short).
        case disconnected
        /// The daemon did not answer in time (a wedged daemon: its socket accepts, nothing replies).
        case timeout
        /// Any other input/output failure.
        case io
    }

    /// The kind.
    public var kind: Kind
    /// The sentence.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A responder's refusal: the client sees `message`.
    public static func refused(_ message: String) -> ControlError {
        ControlError(.daemon, message)
    }

    /// The sentence.
    public var description: String { message }

    static func noDaemon(at path: String) -> ControlError {
        ControlError(.noDaemon, "no lvsync daemon is running (nothing answers at \(path))")
    }

    static func permissionDenied(at path: String) -> ControlError {
        ControlError(
            .permissionDenied,
            "permission denied on the control socket \(path): it is root's only, run this as root (e.g. with sudo)"
        )
    }

    static func anotherDaemon(at path: String) -> ControlError {
        ControlError(.anotherDaemon, "another lvsync runs (its control socket answers at \(path))")
    }
}
