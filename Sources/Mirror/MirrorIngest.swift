import SyncWire

/// What taking one kernel sync message into a mirror table found
/// (``MirrorTable/ingest(_:now:scratch:keepingRecords:)``): how the kernel's backup would take the message, how many
/// entries it accepted, the problems, and the accepted entries as values when they must be re-encoded.
///
/// Both sides of mirroring use it: the active director's capture, which forwards the message into the batch log, and
/// the standby's injection, which hands it to its kernel.
public struct IngestedSyncMessage: Hashable, Sendable {
    /// How the message was taken.
    public enum Kind: Hashable, Sendable {
        /// Version 1, every entry accepted, none with options: the hot path.
        case plain
        /// Version 1, every entry accepted, some with options (sequence data, persistence data, unknown options).
        case options
        /// Version 0, every entry accepted (with or without the sequence block).
        case version0
        /// The header passed but the kernel would skip entries or drop the rest of the message (``problems``
        /// says which): the accepted entries, version 0 or 1, are in the table.
        case damaged
        /// The header was rejected: the kernel drops the whole message, and nothing was taken.
        case dropped
    }

    /// The most entries a message holds (its 8-bit entry count), so the least room a scratch buffer needs.
    public static let maximumEntries = Int(UInt8.max)

    /// How the message was taken.
    public var kind: Kind
    /// The header's version; nil when the message was dropped.
    public var version: SyncProtocolVersion?
    /// The header's sync ID; 0 when the message was dropped.
    public var syncID: UInt8
    /// The entries that passed the kernel's checks, all now in the table.
    public var accepted: Int
    /// Whether some accepted entries carry options.
    public var hasOptions: Bool
    /// What the checks found, in wire order (see ``SyncMessageDecoder``); empty unless the message is damaged or
    /// dropped.
    public var problems: [SyncWireError]
    /// The accepted entries as values, in wire order, to re-encode as clean version 1 messages: filled for
    /// version 0 and damaged messages and when the caller asked for them, empty otherwise (the hot path
    /// allocates nothing).
    public var records: [SyncConnection]

    /// Whether the message had problems: damaged or dropped.
    public var hasProblems: Bool { !problems.isEmpty }

    /// Creates a finding (tests; ``MirrorTable/ingest(_:now:scratch:keepingRecords:)`` makes the real ones).
    public init(
        kind: Kind,
        version: SyncProtocolVersion?,
        syncID: UInt8,
        accepted: Int,
        hasOptions: Bool,
        problems: [SyncWireError],
        records: [SyncConnection]
    ) {
        self.kind = kind
        self.version = version
        self.syncID = syncID
        self.accepted = accepted
        self.hasOptions = hasOptions
        self.problems = problems
        self.records = records
    }
}

extension MirrorTable {
    /// Takes one kernel sync message (one UDP payload, or one message of a peer's batch): decodes it once,
    /// validating it as the kernel's backup would (``SyncMessageDecoder``), and puts every accepted entry into the
    /// table in wire order, so a later entry for a connection wins as it does in the kernel.
    ///
    /// The hot path, a clean version 1 message without options, upserts its entries a message at a time
    /// (``upsert(contentsOf:version:now:)``) and allocates nothing; entries with options are stored with them.
    /// - Parameters:
    ///   - now: the time the entries' expiry counts from.
    ///   - scratch: room for ``IngestedSyncMessage/maximumEntries`` entries, reused across messages.
    ///   - keepingRecords: whether to return the accepted entries as values even when the message is neither
    ///     version 0 nor damaged (a caller that must re-encode it anyway, say because it is too long).
    public mutating func ingest(
        _ message: UnsafeRawBufferPointer,
        now: MirrorTime,
        scratch: UnsafeMutableBufferPointer<SyncEntry>,
        keepingRecords: Bool = false
    ) -> IngestedSyncMessage {
        precondition(scratch.count >= IngestedSyncMessage.maximumEntries, "the scratch holds a message's entries")
        var problems: [SyncWireError] = []
        var count = 0
        // The accepted entries with options (few): their place among the accepted entries and their options' bytes.
        var withOptions: [(index: Int, options: Range<Int>)] = []
        let header = SyncMessageDecoder.visitEntries(message, problems: &problems) { entry, options in
            if !options.isEmpty { withOptions.append((count, options)) }
            scratch.initializeElement(at: count, to: entry)
            count += 1
        }
        guard let header else {
            return IngestedSyncMessage(
                kind: .dropped,
                version: nil,
                syncID: 0,
                accepted: 0,
                hasOptions: false,
                problems: problems,
                records: []
            )
        }
        let version = header.version
        let entries = UnsafeBufferPointer(rebasing: scratch[0..<count])
        let kind: IngestedSyncMessage.Kind
        if !problems.isEmpty {
            kind = .damaged
        } else if version == .v0 {
            kind = .version0
        } else {
            kind = withOptions.isEmpty ? .plain : .options
        }

        // The rare entries with options become values once, for the table and for the records.
        let rich: [SyncConnection] =
            withOptions.isEmpty
            ? []
            : withOptions.map {
                SyncMessageDecoder.connection(entries[$0.index], options: $0.options, in: message, version: version)
            }
        var start = 0
        for (n, place) in withOptions.enumerated() {
            upsert(contentsOf: UnsafeBufferPointer(rebasing: entries[start..<place.index]), version: version, now: now)
            upsert(rich[n], now: now)
            start = place.index + 1
        }
        upsert(contentsOf: UnsafeBufferPointer(rebasing: entries[start...]), version: version, now: now)

        var records: [SyncConnection] = []
        if keepingRecords || kind == .version0 || kind == .damaged {
            records.reserveCapacity(count)
            var next = 0
            for index in entries.indices {
                if next < withOptions.count, withOptions[next].index == index {
                    records.append(rich[next])
                    next += 1
                } else {
                    records.append(SyncConnection(entries[index], version: version))
                }
            }
        }
        return IngestedSyncMessage(
            kind: kind,
            version: version,
            syncID: header.syncID,
            accepted: count,
            hasOptions: !withOptions.isEmpty,
            problems: problems,
            records: records
        )
    }

    /// ``ingest(_:now:scratch:keepingRecords:)`` with scratch room of its own (tests, one-off messages).
    public mutating func ingest(
        _ message: UnsafeRawBufferPointer,
        now: MirrorTime,
        keepingRecords: Bool = false
    ) -> IngestedSyncMessage {
        withUnsafeTemporaryAllocation(of: SyncEntry.self, capacity: IngestedSyncMessage.maximumEntries) {
            ingest(message, now: now, scratch: $0, keepingRecords: keepingRecords)
        }
    }
}
