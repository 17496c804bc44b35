import CPrefetch
import SyncWire

/// The latest entry per connection, as a director's kernel holds it: upserted from decoded sync entries, expired by
/// each entry's own timeout, listed as a consistent snapshot for a standby that joins late.
///
/// Keyed as the kernel keys connections: protocol, client, virtual (and the template bit); a template with
/// persistence-engine data is also keyed by that data, as the SIP engine's `ct_match` compares Call-IDs.
///
/// Built for millions of entries: fixed 88-byte records in one array, an open-addressing index of 32-bit slots
/// at most half full, and a side table only for the rare entries with persistence or sequence data. A value type:
/// copying it is the O(1) consistent snapshot (copy-on-write).
///
/// Time is passed in (``MirrorTime``): the table never reads a clock.
public struct MirrorTable: Sendable {
    private var records: [MirrorRecord] = []
    /// 0 is an empty slot; otherwise the record's index plus one.
    private var slots: [UInt32]
    private var extras: [UInt32: MirrorExtras] = [:]
    /// The hash seed, random per table.
    private let seed = UInt64.random(in: .min ... .max)
    /// Timeouts used for entries that carry none (version 0, or a timeout of 0).
    public var defaultTimeouts: DefaultTimeouts

    /// Creates an empty table.
    /// - Parameters:
    ///   - minimumCapacity: entries to make room for up front.
    ///   - defaultTimeouts: timeouts for entries without one (version 0 entries, timeout 0).
    public init(minimumCapacity: Int = 0, defaultTimeouts: DefaultTimeouts = .kernel) {
        self.defaultTimeouts = defaultTimeouts
        records.reserveCapacity(minimumCapacity)
        var slotCount = 16
        while slotCount < minimumCapacity * 2 { slotCount <<= 1 }
        slots = Array(repeating: 0, count: slotCount)
    }

    /// The number of entries held, expired ones not yet removed included.
    public var count: Int { records.count }

    /// What an upsert did.
    public enum UpsertOutcome: Hashable, Sendable {
        /// A new entry.
        case inserted
        /// An existing entry was replaced by the newer one and its expiry re-armed.
        case updated
        /// The entry is the kernel's expiration message for a connection already replaced by one to another real
        /// server (inactive, different destination): ignored, as the kernel ignores it.
        case ignoredStale
        /// The entry mixes address families, which no sync message can carry: not stored.
        case rejectedMixedFamilies
    }

    /// Inserts or replaces the entry for `connection`'s key and arms its expiry at `now` + its timeout.
    @discardableResult
    public mutating func upsert(_ connection: SyncConnection, now: MirrorTime) -> UpsertOutcome {
        guard let entry = connection.entry else { return .rejectedMixedFamilies }
        return upsert(entry, hasV1Fields: connection.timeout != nil, extras: MirrorExtras(connection), now: now)
    }

    /// The relay's hot path: inserts or replaces an entry that carries no options (most do not), as decoded by
    /// `SyncMessageDecoder.visitEntries`. Entries with options go through ``upsert(_:now:)-(SyncConnection,_)``.
    @discardableResult
    public mutating func upsert(_ entry: SyncEntry, version: SyncProtocolVersion, now: MirrorTime) -> UpsertOutcome {
        upsert(entry, hasV1Fields: version == .v1, extras: nil, now: now)
    }

    /// The relay's hot path for a message's worth of entries without options: ``upsert(_:version:now:)`` for each, in
    /// order, after passes that only ask the CPU for the table memory they will need (each entry's slot, then its
    /// record's cache lines), so that their cache misses overlap instead of following one another (the table is far
    /// larger than the caches: a lookup is a miss or two).
    public mutating func upsert(
        contentsOf entries: UnsafeBufferPointer<SyncEntry>,
        version: SyncProtocolVersion,
        now: MirrorTime
    ) {
        guard !entries.isEmpty else { return }
        let seed = seed
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: entries.count) { hashes in
            let mask = slots.count - 1
            slots.withUnsafeBufferPointer { slots in
                let base = slots.baseAddress!
                for (i, entry) in entries.enumerated() {
                    let hash = MirrorKey(entry, extras: nil).hash(seed: seed)
                    hashes[i] = hash
                    lvsync_prefetch_read(base + (Int(hash) & mask))
                }
                records.withUnsafeBufferPointer { records in
                    guard let first = records.baseAddress else { return }
                    for hash in hashes {
                        let value = base[Int(hash) & mask]
                        guard value != 0 else { continue }
                        // An 88-byte record may straddle two cache lines: ask for both.
                        let record = UnsafeRawPointer(first + Int(value - 1))
                        lvsync_prefetch_write(record)
                        lvsync_prefetch_write(record + (MemoryLayout<MirrorRecord>.size - 1))
                    }
                }
            }
            for (i, entry) in entries.enumerated() {
                upsert(entry, hasV1Fields: version == .v1, extras: nil, hash: hashes[i], now: now)
            }
        }
    }

    private mutating func upsert(
        _ entry: SyncEntry,
        hasV1Fields: Bool,
        extras extra: MirrorExtras?,
        hash knownHash: UInt32? = nil,
        now: MirrorTime
    ) -> UpsertOutcome {
        let key = MirrorKey(entry, extras: extra)
        let hash = knownHash ?? key.hash(seed: seed)
        let timeout = entry.timeout != 0 ? entry.timeout : defaultTimeouts.timeout(for: entry)
        var kind: UInt8 = hasV1Fields ? MirrorRecord.Kind.hasV1Fields : 0
        if extra != nil { kind |= MirrorRecord.Kind.hasExtras }
        let record = MirrorRecord(entry: entry, deadline: now.seconds &+ timeout, hash: hash, kind: kind)

        switch find(key, hash: hash) {
        case .found(_, let index):
            let old = records[index]
            if !entry.isTemplate, entry.flags.contains(.inactive),
                old.entry.destinationAddress != entry.destinationAddress
                    || old.entry.destinationPort != entry.destinationPort
            {
                return .ignoredStale
            }
            records[index] = record
            if extra != nil || old.kind & MirrorRecord.Kind.hasExtras != 0 { extras[UInt32(index)] = extra }
            return .updated
        case .vacant(let slot):
            let index = records.count
            records.append(record)
            if let extra { extras[UInt32(index)] = extra }
            slots[slot] = UInt32(index + 1)
            if records.count * 2 > slots.count { grow() }
            return .inserted
        }
    }

    /// The entry for the key of `connection` (protocol, client, virtual, template bit, persistence data), if held
    /// and not expired at `now`.
    public func lookup(_ connection: SyncConnection, now: MirrorTime) -> SyncConnection? {
        guard let wire = connection.entry else { return nil }
        let key = MirrorKey(wire, extras: MirrorExtras(connection))
        guard case .found(_, let index) = find(key, hash: key.hash(seed: seed)), records[index].deadline > now.seconds
        else {
            return nil
        }
        return self.connection(at: index)
    }

    /// Removes the entry with the key of `connection`.
    /// - Returns: whether there was one.
    @discardableResult
    public mutating func remove(_ connection: SyncConnection) -> Bool {
        guard let entry = connection.entry else { return false }
        let key = MirrorKey(entry, extras: MirrorExtras(connection))
        guard case .found(let slot, let index) = find(key, hash: key.hash(seed: seed)) else { return false }
        remove(slot: slot, index: index)
        return true
    }

    /// Removes every entry whose deadline is at or before `now`.
    /// - Returns: the number removed.
    @discardableResult
    public mutating func removeExpired(now: MirrorTime) -> Int {
        var removed = 0
        var index = 0
        while index < records.count {
            if records[index].deadline <= now.seconds {
                remove(slot: slotOf(index: index), index: index)
                removed += 1
            } else {
                index += 1
            }
        }
        return removed
    }

    /// Calls `body` with every entry alive at `now`, in storage order.
    public func forEach(now: MirrorTime, _ body: (SyncConnection) throws -> Void) rethrows {
        for index in records.indices where records[index].deadline > now.seconds {
            try body(connection(at: index))
        }
    }

    /// The snapshot's hot path: calls `body` with the fixed part of every entry alive at `now` and, for the few that
    /// carry options (persistence data, sequence data), the whole entry.
    public func forEachEntry(now: MirrorTime, _ body: (SyncEntry, SyncConnection?) throws -> Void) rethrows {
        for index in records.indices where records[index].deadline > now.seconds {
            let record = records[index]
            try body(record.entry, record.kind & MirrorRecord.Kind.hasExtras != 0 ? connection(at: index) : nil)
        }
    }

    /// A walk in parts (a snapshot sent in chunks): like ``forEachEntry(now:_:)`` from storage position `start`,
    /// until `body` returns false.
    /// - Returns: the position to continue from (the entry `body` declined comes again), or nil when the walk is done.
    public func forEachEntry(
        from start: Int,
        now: MirrorTime,
        _ body: (SyncEntry, SyncConnection?) -> Bool
    ) -> Int? {
        var index = start
        while index < records.count {
            let record = records[index]
            if record.deadline > now.seconds {
                let rich = record.kind & MirrorRecord.Kind.hasExtras != 0 ? connection(at: index) : nil
                guard body(record.entry, rich) else { return index }
            }
            index += 1
        }
        return nil
    }

    /// Every entry alive at `now`, with the seconds each has left.
    public func snapshot(now: MirrorTime) -> [(connection: SyncConnection, remaining: UInt32)] {
        var result: [(connection: SyncConnection, remaining: UInt32)] = []
        result.reserveCapacity(records.count)
        for index in records.indices where records[index].deadline > now.seconds {
            result.append((connection(at: index), records[index].deadline - now.seconds))
        }
        return result
    }

    /// The live connections among the `limit` storage positions from `start` (see
    /// ``forEachConnection(from:limit:now:_:)``), each with the seconds it has left, and the position to go on from
    /// (nil: the end). Holds O(`limit`).
    public func connections(
        from start: Int,
        limit: Int,
        now: MirrorTime
    ) -> (rows: [(connection: SyncConnection, remaining: UInt32)], next: Int?) {
        var rows: [(connection: SyncConnection, remaining: UInt32)] = []
        rows.reserveCapacity(limit)
        let next = forEachConnection(from: start, limit: limit, now: now) { rows.append(($0, $1)) }
        return (rows, next)
    }

    /// A listing in parts (`lvsync conns`, read a batch at a time under the owner's lock): calls `body` with every
    /// entry alive at `now` among the `limit` storage positions from `start`, and the seconds it has left.
    ///
    /// Between parts the table may change: an entry inserted meanwhile is listed if the walk reaches it; an entry
    /// removed meanwhile lets the last one take its place, and that one is missed if its new place was passed
    /// (a listing, like the kernel's `/proc/net/ip_vs_conn`, not a consistent snapshot: for that, walk a copy).
    /// - Returns: the position to go on from, or nil when the walk is done.
    public func forEachConnection(
        from start: Int,
        limit: Int,
        now: MirrorTime,
        _ body: (_ connection: SyncConnection, _ remaining: UInt32) throws -> Void
    ) rethrows -> Int? {
        let end = min(records.count, max(start, 0) + max(limit, 1))
        var index = max(start, 0)
        while index < end {
            if records[index].deadline > now.seconds {
                try body(connection(at: index), records[index].deadline - now.seconds)
            }
            index += 1
        }
        return end < records.count ? end : nil
    }

    /// Counts of the entries alive at `now` by protocol, template or not, and state name.
    public func counts(now: MirrorTime) -> [MirrorCountKey: Int] {
        var counts: [MirrorCountKey: Int] = [:]
        for record in records where record.deadline > now.seconds {
            let e = record.entry
            let state = e.state.name(protocol: e.ipProtocol, template: e.isTemplate)
            counts[MirrorCountKey(ipProtocol: e.ipProtocol, isTemplate: e.isTemplate, stateName: state), default: 0] +=
                1
        }
        return counts
    }

    /// Bytes the table holds: record and slot storage at their capacities, plus the side table's entries.
    public var memoryFootprint: Int {
        let sideEntry = MemoryLayout<UInt32>.stride + MemoryLayout<MirrorExtras>.stride
        let sideData = extras.values.reduce(0) { sum, extra in
            sum + (extra.persistence.map { $0.data.count + $0.engine.utf8.count + 64 } ?? 0)
                + extra.unknownOptions.reduce(0) { $0 + $1.payload.count + 48 }
        }
        return records.capacity * MemoryLayout<MirrorRecord>.stride + slots.capacity * MemoryLayout<UInt32>.stride
            + extras.capacity * sideEntry + sideData
    }

    // MARK: - Index

    private enum Probe {
        case found(slot: Int, index: Int)
        case vacant(slot: Int)
    }

    private func find(_ key: MirrorKey, hash: UInt32) -> Probe {
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        while true {
            let value = slots[slot]
            if value == 0 { return .vacant(slot: slot) }
            let index = Int(value - 1)
            let record = records[index]
            if record.hash == hash, record.hasKey(of: key), persistenceMatches(key, index: index) {
                return .found(slot: slot, index: index)
            }
            slot = (slot + 1) & mask
        }
    }

    private func persistenceMatches(_ key: MirrorKey, index: Int) -> Bool {
        guard key.isTemplate else { return true }
        let stored = records[index].kind & MirrorRecord.Kind.hasExtras != 0 ? extras[UInt32(index)]?.keyData : nil
        return stored == key.persistenceData
    }

    private func slotOf(index: Int) -> Int {
        let mask = slots.count - 1
        var slot = Int(records[index].hash) & mask
        while slots[slot] != UInt32(index + 1) { slot = (slot + 1) & mask }
        return slot
    }

    /// Removes a record: empties its slot with backward-shift deletion (no tombstones), then moves the last record
    /// into the hole so records stay dense.
    private mutating func remove(slot: Int, index: Int) {
        let mask = slots.count - 1
        var hole = slot
        var next = (hole + 1) & mask
        while slots[next] != 0 {
            let home = Int(records[Int(slots[next] - 1)].hash) & mask
            // Move the entry back if its home is not in the cyclic range (hole, next].
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if !stays {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0

        let last = records.count - 1
        if records[index].kind & MirrorRecord.Kind.hasExtras != 0 { extras[UInt32(index)] = nil }
        if index != last {
            let lastSlot = slotOf(index: last)
            records[index] = records[last]
            slots[lastSlot] = UInt32(index + 1)
            if records[last].kind & MirrorRecord.Kind.hasExtras != 0 {
                extras[UInt32(index)] = extras.removeValue(forKey: UInt32(last))
            }
        }
        records.removeLast()
    }

    private mutating func grow() {
        let count = slots.count * 2
        let mask = count - 1
        var newSlots = [UInt32](repeating: 0, count: count)
        for index in records.indices {
            var slot = Int(records[index].hash) & mask
            while newSlots[slot] != 0 { slot = (slot + 1) & mask }
            newSlots[slot] = UInt32(index + 1)
        }
        slots = newSlots
    }

    private func connection(at index: Int) -> SyncConnection {
        let record = records[index]
        return record.connection(
            extras: record.kind & MirrorRecord.Kind.hasExtras != 0 ? extras[UInt32(index)] : nil
        )
    }
}

/// A point in time for the mirror table: whole seconds on a monotonic clock from any fixed origin.
public struct MirrorTime: Hashable, Sendable, Comparable {
    /// Seconds since the origin.
    public var seconds: UInt32

    /// The time `seconds` after the origin.
    public init(seconds: UInt32) { self.seconds = seconds }

    /// The time `duration` after the origin, rounded down to whole seconds (negative durations give 0).
    public init(sinceOrigin duration: Duration) {
        seconds = UInt32(clamping: max(0, duration.components.seconds))
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.seconds < rhs.seconds }
}

/// A group in ``MirrorTable/counts(now:)``.
public struct MirrorCountKey: Hashable, Sendable {
    /// The protocol.
    public var ipProtocol: IPProtocol
    /// Whether the entries are templates.
    public var isTemplate: Bool
    /// The state's name as /proc prints it.
    public var stateName: String

    /// Creates a group key.
    public init(ipProtocol: IPProtocol, isTemplate: Bool, stateName: String) {
        self.ipProtocol = ipProtocol
        self.isTemplate = isTemplate
        self.stateName = stateName
    }
}
