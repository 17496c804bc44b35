import Control
import SyncWire

/// The `conns` reply, streamed: the mirror table is read a part at a time (``batchSize`` storage positions under
/// its owner's lock), filtered, and written in batches of at most ``batchSize`` objects, each write awaited (the
/// socket's backpressure: a slow client slows the reading). A request holds one part and one batch, never the
/// table: its memory is O(``batchSize``) whatever the table's size, and a client that goes away stops the reading
/// at the next write.
public struct ConnsReply: Sendable {
    /// The objects written at once by default (about 150 KB of JSON lines).
    public static let defaultBatchSize = 512

    /// Reads a part of the table: the live connections among `limit` storage positions from `start`, with the
    /// seconds each has left, and the position to go on from (nil: the end).
    public typealias Reader =
        @Sendable (_ start: Int, _ limit: Int) -> (rows: [(connection: SyncConnection, remaining: UInt32)], next: Int?)

    /// What a reply did.
    public struct Outcome: Sendable, Hashable {
        /// Objects written.
        public var written = 0
        /// Batches written.
        public var batches = 0
        /// The most objects held at once (built and not yet written): at most the batch size.
        public var largestBatch = 0
    }

    /// Only the connections to this virtual address.
    public let vip: IPAddress?
    /// Only the connections to this virtual service, `tcp:10.0.0.100:80` (compared without case).
    public let service: String?
    /// The most objects per write, and the storage positions read per part.
    public let batchSize: Int

    /// The reply for a request's arguments (`vip`, `service`).
    /// - Throws: ``ControlError/refused(_:)`` for a `vip` that is not an address.
    public init(arguments: [String: JSONValue], batchSize: Int = defaultBatchSize) throws {
        let vip = arguments["vip"]?.stringValue
        self.vip = try vip.map { text -> IPAddress in
            guard let address = IPAddress(text) else {
                throw ControlError.refused("vip: \"\(text)\" is not an address")
            }
            return address
        }
        service = arguments["service"]?.stringValue?.lowercased()
        self.batchSize = max(1, batchSize)
    }

    /// Reads the table through `read` and hands each batch to `write` (a ``ControlReplyWriter``'s
    /// `write(contentsOf:)`), waiting for each before reading on.
    /// - Throws: what `write` throws (the client went away: the reading stops there); `CancellationError` when the
    ///   daemon stops.
    @discardableResult
    public func stream(
        from read: Reader,
        to write: (_ batch: [JSONValue]) async throws -> Void
    ) async throws -> Outcome {
        var outcome = Outcome()
        var batch: [JSONValue] = []
        batch.reserveCapacity(batchSize)
        var position: Int? = 0
        func flush() async throws {
            outcome.largestBatch = max(outcome.largestBatch, batch.count)
            try await write(batch)
            outcome.written += batch.count
            outcome.batches += 1
            batch.removeAll(keepingCapacity: true)
        }
        while let start = position {
            try Task.checkCancellation()
            let part = read(start, batchSize)
            position = part.next
            for (connection, remaining) in part.rows where matches(connection) {
                batch.append(Self.object(connection, remaining: remaining))
                if batch.count == batchSize { try await flush() }
            }
        }
        if !batch.isEmpty { try await flush() }
        return outcome
    }

    /// Whether `connection` passes the filters.
    func matches(_ connection: SyncConnection) -> Bool {
        if let vip, connection.virtual.address != vip { return false }
        if let service, "\(connection.ipProtocol):\(connection.virtual)".lowercased() != service { return false }
        return true
    }

    /// A connection's reply object (the Control module's README lists the keys).
    static func object(_ connection: SyncConnection, remaining: UInt32) -> JSONValue {
        var row: [String: JSONValue] = [
            "protocol": .string("\(connection.ipProtocol)".lowercased()),
            "client": .string("\(connection.client)"),
            "virtual": .string("\(connection.virtual)"),
            "destination": .string("\(connection.destination)"),
            "state": .string(connection.stateName),
            "expires_seconds": .integer(Int64(remaining)),
            "template": .bool(connection.isTemplate),
        ]
        if let fwmark = connection.fwmark, fwmark != 0 { row["fwmark"] = .integer(Int64(fwmark)) }
        if let persistence = connection.persistence {
            row["pe_name"] = .string(persistence.engine)
            row["pe_data"] = .string(String(decoding: persistence.data, as: UTF8.self))
        }
        return .object(row)
    }
}
