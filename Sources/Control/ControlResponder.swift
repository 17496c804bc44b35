/// What the daemon implements to answer the control socket: the server calls it once per connection with the
/// request the client sent.
public protocol ControlResponder: Sendable {
    /// Answers one request: write zero or more objects, return to end the reply. Throwing ``ControlError`` sends
    /// `{"error":...}` with its message (use ``ControlError/refused(_:)`` for an unknown command or a bad argument);
    /// ``ControlReplyWriter/write(_:)`` throws once the client went away, which ends a follow loop.
    func respond(to request: ControlRequest, writer: ControlReplyWriter) async throws
}
