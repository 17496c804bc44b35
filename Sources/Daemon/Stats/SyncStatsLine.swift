import Logging

/// The sync statistics the daemon logs at an interval: one structured line whose fields are named the same way on
/// both directors (`sync.*`, `mirror.*`, `peer.*`), so that a log pipeline can chart them.
public struct SyncStatsLine: Sendable {
    /// What the line reports on.
    public enum Side: Sendable {
        /// The active director's capture and stream.
        case active(SyncSource.Figures)
        /// A standby's injection.
        case standby(SyncSink.Figures)
    }

    /// The side's figures.
    public var side: Side
    /// Link events by reason (``PeerCounters/all``).
    public var counters: [String: Int]
    /// Entries at the previous line, for the rate.
    public var previousEntries: Int
    /// Seconds since the previous line.
    public var elapsedSeconds: Double

    /// Creates a line.
    public init(side: Side, counters: [String: Int], previousEntries: Int, elapsedSeconds: Double) {
        self.side = side
        self.counters = counters
        self.previousEntries = previousEntries
        self.elapsedSeconds = elapsedSeconds
    }

    /// Entries taken in so far (captured on the active, injected on a standby).
    public var entries: Int {
        switch side {
        case .active(let figures): figures.entries
        case .standby(let figures): figures.entries
        }
    }

    /// The line's fields.
    public var metadata: Logger.Metadata {
        var fields: Logger.Metadata = [:]
        // A change of role starts a new side whose count begins at zero: its entries so far are the interval's.
        let taken = entries >= previousEntries ? entries - previousEntries : entries
        let rate = elapsedSeconds > 0 ? Double(taken) / elapsedSeconds : 0
        fields["sync.entries"] = .stringConvertible(entries)
        fields["sync.entries_per_s"] = .stringConvertible(Int(rate.rounded()))
        let links =
            counters["opened", default: 0]
            - counters.filter { $0.key.hasPrefix("closed.") }.values.reduce(0, +)
        fields["sync.peers"] = .stringConvertible(max(0, links))
        switch side {
        case .active(let f):
            fields["sync.role"] = "active"
            fields["sync.kernel_messages"] = .stringConvertible(f.messages)
            fields["sync.malformed_messages"] = .stringConvertible(f.malformedMessages)
            fields["sync.batches"] = .stringConvertible(f.batches)
            fields["sync.sequence"] = .stringConvertible(f.lastSequence)
            fields["sync.log_dropped_batches"] = .stringConvertible(f.droppedBatches)
            fields["sync.capture_drops"] = .stringConvertible(f.captureDrops)
            fields["kernel.reconciled"] = .stringConvertible(f.reconciled)
            if let held = f.kernelConnections { fields["kernel.connections"] = .stringConvertible(held) }
            fields["mirror.size"] = .stringConvertible(f.tableSize)
            fields.merge(StandbyProgress.metadata(f.standbys)) { _, new in new }
        case .standby(let f):
            fields["sync.role"] = "standby"
            fields["sync.kernel_messages"] = .stringConvertible(f.messages)
            fields["sync.malformed_messages"] = .stringConvertible(f.malformedMessages)
            fields["sync.injection_failures"] = .stringConvertible(f.injectionFailures)
            fields["kernel.queued"] = .stringConvertible(f.kernelQueued)
            fields["kernel.drops"] = .stringConvertible(f.kernelDrops)
            fields["kernel.resent"] = .stringConvertible(f.resent)
            fields["kernel.lost"] = .stringConvertible(f.kernelLost)
            fields["kernel.repaired"] = .stringConvertible(f.kernelRepaired)
            if let held = f.kernelConnections {
                fields["kernel.connections"] = .stringConvertible(held)
                fields["kernel.missing"] = .stringConvertible(f.kernelMissing)
            }
            fields["sync.position"] = "\(f.position)"
            fields["sync.lag_ms_p50"] = .stringConvertible(Double(f.lagMicrosecondsP50) / 1000)
            fields["sync.lag_ms_p99"] = .stringConvertible(Double(f.lagMicrosecondsP99) / 1000)
            fields["sync.lag_ms_max"] = .stringConvertible(Double(f.lagMicrosecondsMax) / 1000)
            fields["mirror.size"] = .stringConvertible(f.tableSize)
        }
        for (key, count) in counters { fields["peer.\(key)"] = .stringConvertible(count) }
        return fields
    }
}
