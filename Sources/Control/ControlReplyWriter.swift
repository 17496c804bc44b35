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
        try await write(contentsOf: CollectionOfOne(object))
    }

    /// Sends objects as lines in one write: the way to send a large table (thousands of connections) quickly.
    /// - Throws: as ``write(_:)``; nothing is sent when an object is refused.
    public func write(contentsOf objects: some Sequence<JSONValue>) async throws {
        var text = ""
        for object in objects {
            try Self.check(object)
            text += object.jsonText
            text += "\n"
        }
        guard !text.isEmpty else { return }
        do {
            try await send(ByteBuffer(string: text))
        } catch {
            // The daemon stops: the server tells the client so.
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    private static func check(_ object: JSONValue) throws(ControlError) {
        guard case .object(let members) = object else {
            throw ControlError(.malformed, "a reply line must be a JSON object, not \(object.kindDescription)")
        }
        guard ControlReplyLine(members) == .object else {
            throw ControlError(
                .malformed,
                "the reply object \(object.jsonText) would read as the end of the reply: give it another key"
            )
        }
    }

    /// Sends the reply's last line (`{"end":true}` or `{"error":...}`) and waits until it, and so every line
    /// before it, has gone to the socket: the connection closes next, and a close drops writes still pending.
    /// It goes to the channel directly (after the writer's lines, in order), so it works in a cancelled task too.
    func finish(with object: JSONValue) async throws(ControlError) {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: object.jsonText + "\n")).get()
        } catch {
            throw ControlError(.disconnected, "the client went away (\(error))")
        }
    }

    /// Sends lines.
    private func send(_ lines: ByteBuffer) async throws(ControlError) {
        do {
            try await outbound.write(lines)
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
