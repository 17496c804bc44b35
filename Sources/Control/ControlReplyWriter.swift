import NIOCore

/// Sends a responder's reply objects to the client, one JSON line each.
public struct ControlReplyWriter: Sendable {
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let channel: any Channel

    init(outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel) {
        self.outbound = outbound
        self.channel = channel
    }

    /// Sends one object as a line. It waits while the client is slow to read.
    /// - Throws: ``ControlError`` of kind ``ControlError/Kind/disconnected`` once the client has gone away (a
    ///   follow loop ends there), or ``ControlError/Kind/malformed`` for a value that is not an object, or an
    ///   object that would read as the end of the reply (`{"end":true}` or `{"error":"..."}` alone);
    ///   `CancellationError` when the daemon stops.
    public func write(_ object: JSONValue) async throws {
        guard case .object(let members) = object else {
            throw ControlError(.malformed, "a reply line must be a JSON object, not \(object.kindDescription)")
        }
        guard ControlReplyLine(members) == .object else {
            throw ControlError(
                .malformed,
                "the reply object \(object.jsonText) would read as the end of the reply: give it another key"
            )
        }
        do {
            try await send(object)
        } catch {
            // The daemon stops: the server tells the client so.
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// Sends a last line from a task that is cancelled (the daemon stops), past the writer, which refuses to wait
    /// in a cancelled task.
    func sendLast(_ object: JSONValue) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: object.jsonText + "\n")).get()
    }

    /// Sends a line, the end line included.
    func send(_ object: JSONValue) async throws(ControlError) {
        do {
            try await outbound.write(ByteBuffer(string: object.jsonText + "\n"))
        } catch {
            throw ControlError(.disconnected, "the client went away (\(error))")
        }
    }
}

/// What a reply line means: an object, or the end of the reply (`{"end":true}`, `{"error":"..."}`).
enum ControlReplyLine: Hashable {
    case object
    case end
    case error(String)

    init(_ members: [String: JSONValue]) {
        guard members.count == 1 else {
            self = .object
            return
        }
        switch (members["end"], members["error"]) {
        case (.bool(true)?, _): self = .end
        case (_, .string(let sentence)?): self = .error(sentence)
        default: self = .object
        }
    }
}
