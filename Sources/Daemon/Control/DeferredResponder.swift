import Control
import Synchronization

/// A control responder that exists before the daemon's parts do: the socket is bound first (so that a second daemon
/// stops before it touches the kernel), and answers "starting" until the daemon hands over its real responder.
public final class DeferredResponder: ControlResponder {
    private let target = Mutex<(any ControlResponder)?>(nil)

    /// Answers nothing but "starting" yet.
    public init() {}

    /// From now on, `responder` answers.
    public func become(_ responder: any ControlResponder) { target.withLock { $0 = responder } }

    public func respond(to request: ControlRequest, writer: ControlReplyWriter) async throws {
        guard let responder = target.withLock({ $0 }) else {
            throw ControlError.refused("the daemon is starting; ask again in a moment")
        }
        try await responder.respond(to: request, writer: writer)
    }
}
