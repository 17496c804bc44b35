import Daemon
import Foundation
import LVSyncTestSupport
import Logging
import PeerProtocol
import Synchronization
import Testing

/// A log handler that keeps every line, for tests that read what the daemon logged.
final class CapturingLogHandler: LogHandler, Sendable {
    struct Line: Sendable {
        var message: String
        var metadata: [String: String]
    }

    private let storage = Mutex<[Line]>([])
    var lines: [Line] { storage.withLock { $0 } }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .info }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).mapValues { "\($0)" }
        storage.withLock { $0.append(Line(message: "\(event.message)", metadata: fields)) }
    }
}

@Suite("Sync statistics in the log")
struct StatsTests {
    @Test("a JSON log line: fixed keys first, metadata keys sorted, numbers as numbers, text escaped")
    func jsonLine() throws {
        let line = JSONLogHandler.line(
            time: Date(timeIntervalSince1970: 1_764_000_000.5),
            level: .info,
            label: "lvsync",
            message: "sync \"stats\"\n",
            ["sync.entries": .stringConvertible(5000), "sync.lag_ms_p99": .stringConvertible(0.25), "peer": "dirb"]
        )
        #expect(
            line
                == #"{"time":"2025-11-24T16:00:00.500Z","level":"info","label":"lvsync","message":"sync \"stats\"\n","peer":"dirb","sync.entries":5000,"sync.lag_ms_p99":0.25}"#
        )
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["sync.entries"] as? Int == 5000)
    }

    @Test("a line's fields: entries, rate, peers, role figures and counters by reason")
    func fields() {
        var figures = SyncSink.Figures()
        figures.entries = 3_000
        figures.messages = 80
        figures.tableSize = 2_900
        figures.position = PeerMessage.Position(streamID: 0xab, sequence: 12)
        figures.lagMicrosecondsP99 = 1_250
        let line = SyncStatsLine(
            side: .standby(figures),
            counters: ["opened": 3, "closed.gap": 1, "closed.peer_silent": 1, "refused.unknown_ca": 4],
            previousEntries: 1_000,
            elapsedSeconds: 2
        )
        let fields = line.metadata.mapValues { "\($0)" }
        #expect(fields["sync.role"] == "standby")
        #expect(fields["sync.entries"] == "3000")
        #expect(fields["sync.entries_per_s"] == "1000")
        #expect(fields["sync.peers"] == "1")
        #expect(fields["sync.position"] == "ab/12")
        #expect(fields["sync.lag_ms_p99"] == "1.25")
        #expect(fields["mirror.size"] == "2900")
        #expect(fields["peer.refused.unknown_ca"] == "4")
        #expect(fields["peer.closed.gap"] == "1")
    }

    @Test("the active's line: per standby its positions, and a snapshot's progress, rate and time left")
    func standbyFields() {
        var figures = SyncSource.Figures()
        figures.standbys = [
            "dirb": StandbyProgress.Link(
                state: "sending a snapshot",
                sentSequence: 0,
                acknowledgedSequence: 0,
                inFlightBytes: 65_536,
                snapshot: .init(sent: 250_000, total: 1_000_000, seconds: 0.5)
            ),
            "dirc": StandbyProgress.Link(
                state: "streaming",
                sentSequence: 42,
                acknowledgedSequence: 40,
                inFlightBytes: 1_000,
                snapshot: nil
            ),
        ]
        let fields = SyncStatsLine(side: .active(figures), counters: [:], previousEntries: 0, elapsedSeconds: 1)
            .metadata.mapValues { "\($0)" }
        #expect(fields["sync.snapshot_in_progress"] == "1")
        #expect(fields["standby.dirb.snapshot_sent"] == "250000")
        #expect(fields["standby.dirb.snapshot_total"] == "1000000")
        #expect(fields["standby.dirb.snapshot_entries_per_s"] == "500000")
        #expect(fields["standby.dirb.snapshot_seconds_left"] == "1.5")
        #expect(fields["standby.dirc.sent_sequence"] == "42")
        #expect(fields["standby.dirc.acked_sequence"] == "40")
        #expect(fields["standby.dirc.state"] == "streaming")
        #expect(fields["standby.dirc.snapshot_sent"] == nil)
    }

    @Test("after a change of role the new side's count starts at zero: the rate is never negative")
    func rateAfterRoleChange() {
        var figures = SyncSink.Figures()
        figures.entries = 40
        let line = SyncStatsLine(side: .standby(figures), counters: [:], previousEntries: 1_000, elapsedSeconds: 2)
        #expect(line.metadata.mapValues { "\($0)" }["sync.entries_per_s"] == "20")
    }

    @Test("the running standby logs a stats line at its interval, with what it injected")
    func standbyLogsStats() async throws {
        let pair = try MirroringPair()
        let handler = CapturingLogHandler()
        let logger = Logger(label: "stats-test") { _ in handler }
        try await whileRunning([pair.activeService()]) {
            #expect(await eventually { pair.listeningPort != nil })
            pair.master.emit(TestConnections.messages(0..<5_000))
            let standby = try pair.standbyService(statsIntervalSeconds: 1, logger: logger)
            try await whileRunning([standby]) {
                #expect(
                    await eventually {
                        handler.lines.contains {
                            $0.message == "sync stats" && $0.metadata["sync.entries"] == "5000"
                                && $0.metadata["sync.peers"] == "1" && $0.metadata["mirror.size"] == "5000"
                        }
                    }
                )
            }
        }
    }
}
