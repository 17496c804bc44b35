import ArgumentParser
import Control
import Foundation
import IPVS
import SyncWire

/// `lvsync-bench`: the benchmarks behind BENCHMARKS.md, in an executable of their own (the shipped `lvsync` carries
/// neither them nor the in-memory twins they run on; `lvsync bench` runs this one when it is installed beside it).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lvsync-bench",
        abstract: "Run a benchmark and print its results as one JSON line (build with -c release).",
        subcommands: [
            Codec.self, MirrorTable.self, IPVSControlPlane.self, Relay.self, Cluster.self, FailoverPair.self,
            Conns.self, SoakMember.self,
        ]
    )

    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "codec",
            abstract: "Decode and encode of version 1 sync messages, entries per second on one core."
        )

        @Option(help: "Distinct 1472-byte messages to cycle through.")
        var messages = 2048

        @Option(help: "Seconds to run each measurement for, at least.")
        var seconds = 2.0

        @Option(
            help: "Measure on these messages (one per line, as hex: lvsync capture --hex) instead of generated ones."
        )
        var hex: String?

        func run() throws {
            var input: [[UInt8]]?
            if let hex {
                let text = try String(contentsOfFile: hex, encoding: .utf8)
                let parsed = HexMessages.parse(text)
                guard parsed.problems.isEmpty else { throw BenchError("\(hex): \(parsed.problems[0])") }
                input = parsed.messages.map(\.bytes)
            }
            let r = try CodecBenchmark(messageCount: messages, minimumSeconds: seconds, input: input).run()
            var json = JSONLine()
            json.add("benchmark", "codec")
            json.add("input", hex ?? "generated")
            json.add("messages", r.messages)
            json.add("entries_per_message", r.entriesPerMessage)
            json.add("decode_entries_per_s", r.decodeEntriesPerSecond.rounded())
            json.add("encode_entries_per_s", r.encodeEntriesPerSecond.rounded())
            json.add("roundtrip_entries_per_s", r.roundTripEntriesPerSecond.rounded())
            json.add("rich_decode_entries_per_s", r.richDecodeEntriesPerSecond.rounded())
            json.add("rich_encode_entries_per_s", r.richEncodeEntriesPerSecond.rounded())
            json.add("checksum", r.checksum)
            print(json.line)
        }
    }

    struct MirrorTable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mirror",
            abstract: "Mirror table upserts per second and bytes per connection."
        )

        @Option(help: "Distinct connections to insert.")
        var connections = 1_000_000

        func run() {
            let r = MirrorBenchmark(connections: connections).run()
            var json = JSONLine()
            json.add("benchmark", "mirror")
            json.add("connections", r.connections)
            json.add("inserts_per_s", r.insertsPerSecond.rounded())
            json.add("updates_per_s", r.updatesPerSecond.rounded())
            json.add("bytes_per_connection", (r.bytesPerConnection * 10).rounded() / 10)
            json.add("snapshot_encode_s", r.snapshotEncodeSeconds)
            json.add("snapshot_messages", r.snapshotMessages)
            json.add("snapshot_bytes", r.snapshotBytes)
            json.add("snapshot_list_s", r.snapshotListSeconds)
            json.add("expire_all_s", r.expireSeconds)
            print(json.line)
        }
    }

    struct IPVSControlPlane: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ipvs",
            abstract: "Apply, list, re-apply and flush a large IPVS table in a real kernel (use a scratch namespace)."
        )

        @Option(help: "Virtual services.")
        var services = 1000

        @Option(help: "Real servers per service.")
        var realServers = 10

        @Option(help: "A network namespace (ip netns) to work in instead of this one.")
        var namespace: String?

        func run() throws {
            let r: IPVSBenchmark.Result
            do {
                let ipvs = try NetlinkIPVS(namespace: namespace)
                guard try ipvs.services().isEmpty else {
                    throw BenchError(
                        "the IPVS table is not empty: run the benchmark in a scratch namespace (--namespace)"
                    )
                }
                r = try IPVSBenchmark(services: services, realServersPerService: realServers).run(on: ipvs)
            } catch let error as IPVSError {
                throw BenchError(error.description)
            }
            var json = JSONLine()
            json.add("benchmark", "ipvs")
            json.add("services", r.services)
            json.add("real_servers", r.realServers)
            json.add("changes", r.changes)
            json.add("apply_s", r.applySeconds)
            json.add("list_s", r.listSeconds)
            json.add("unchanged_apply_s", r.unchangedApplySeconds)
            json.add("flush_s", r.flushSeconds)
            print(json.line)
        }
    }
}

extension BenchCommand {
    struct Relay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "relay",
            abstract: "The relay end to end in one process: capture-decode, mirror, mTLS on loopback, mirror, inject.",
            discussion: """
                Prints sustained entries per second, capture-to-injection lag at a fixed offered rate, the time \
                a new standby takes to hold a snapshot of every connection, and mirror bytes per connection. The \
                kernels are in-memory twins: the master's messages are generated, the backup's are counted.
                """
        )

        @Option(help: "Distinct connections (the snapshot's size).")
        var connections = 1_000_000

        @Option(help: "How often each connection is sent in the throughput run (first pass inserts, the rest update).")
        var passes = 5

        @Option(help: "The lag run's offered rate, entries per second.")
        var lagRate = 100_000

        @Option(help: "The lag run's length in seconds.")
        var lagSeconds = 5.0

        func run() async throws {
            let r = try await RelayBenchmark(
                connections: connections,
                passes: passes,
                lagRate: lagRate,
                lagSeconds: lagSeconds
            ).run()
            var json = JSONLine()
            json.add("benchmark", "relay")
            json.add("entries", r.entries)
            json.add("connections", r.connections)
            json.add("entries_per_s", r.entriesPerSecond.rounded())
            json.add("lag_offered_entries_per_s", r.lagOfferedEntriesPerSecond)
            json.add("lag_p50_ms", Double(r.lagP50Microseconds) / 1000)
            json.add("lag_p99_ms", Double(r.lagP99Microseconds) / 1000)
            json.add("lag_max_ms", Double(r.lagMaxMicroseconds) / 1000)
            json.add("lag_batches", Int(r.lagSamples))
            json.add("snapshot_connections", r.snapshotConnections)
            json.add("snapshot_s", r.snapshotSeconds)
            json.add("bytes_per_connection", (r.bytesPerConnection * 10).rounded() / 10)
            json.add("active_side_entries_per_s", r.activeSideEntriesPerSecond.rounded())
            json.add("standby_side_entries_per_s", r.standbySideEntriesPerSecond.rounded())
            print(json.line)
        }
    }
}

extension BenchCommand {
    struct Cluster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cluster",
            abstract: "A cluster in one process: every member streams its own connections to every other one.",
            discussion: """
                N members over mutual TLS on loopback, in-memory kernels (each master emits the member's own \
                connections, each backup counts). Prints how many entries each member captured and streamed, and \
                took in from the others, per second while all emit at once; then, at a fixed rate of new \
                connections at every member, the lag of every stream at every other member (capture to \
                injection): the worst stream's p50 and p99, and the largest of all.
                """
        )

        @Option(help: "Members (2 to 8).")
        var members = 4

        @Option(help: "Each member's own connections in the throughput run.")
        var connections = 250_000

        @Option(help: "The lag run's new connections per second at each member.")
        var rate = 100_000

        @Option(help: "The lag run's length in seconds.")
        var seconds = 5.0

        @Option(help: "Every member's mirror tables sized for this many connections at start (0: they grow).")
        var tableConnections = 0

        func validate() throws {
            guard (2...8).contains(members) else { throw ValidationError("--members: 2 to 8") }
        }

        func run() async throws {
            let r = try await ClusterBenchmark(
                members: members,
                connections: connections,
                rate: rate,
                seconds: seconds,
                tableConnections: tableConnections
            ).run()
            var json = JSONLine()
            json.add("benchmark", "cluster")
            json.add("table_connections", tableConnections)
            json.add("members", r.members)
            json.add("connections_per_member", r.connectionsPerMember)
            json.add("seconds", (r.seconds * 1000).rounded() / 1000)
            json.add("own_entries_per_s", r.ownEntriesPerSecond.rounded())
            json.add("received_entries_per_s", r.receivedEntriesPerSecond.rounded())
            json.add("offered_per_member_per_s", r.offeredPerMember)
            json.add("lag_p50_ms", Double(r.lagP50Microseconds) / 1000)
            json.add("lag_p99_ms", Double(r.lagP99Microseconds) / 1000)
            json.add("lag_max_ms", Double(r.lagMaxMicroseconds) / 1000)
            json.add("lag_batches", Int(r.lagSamples))
            print(json.line)
        }
    }
}

extension BenchCommand {
    struct FailoverPair: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "failover",
            abstract: "lvsync's share of a failover, in one process: planned drills and crashes of an elected pair.",
            discussion: """
                Two directors over mutual TLS on loopback, in-memory kernels and VIPs, the timers given (by \
                default the production ones: link heartbeat 100 ms, dead interval 500 ms, the UDP path every \
                9 ms × 5). Each round: a drill (request to the new active's advert, to its VIPs held and \
                announced, and how long nobody held them), then the new active stopped without a word (to the \
                standby's VIPs held and announced), then its return and resync. Prints p50/p99/max of each as one \
                JSON line. With --soak: no rounds; the pair runs for that long under load (see --hogs, --churn) \
                with the standby's link cut whenever it is in sync, so that a snapshot of the whole table always \
                streams on it, and every role change is counted as a false failover.
                """
        )

        @Option(help: "Rounds (each: a drill, a crash, a rejoin).")
        var rounds = 50

        @Option(help: "Connections mirrored.")
        var connections = 100_000

        @Option(help: "The link's heartbeat interval, milliseconds.")
        var heartbeatMs = 100

        @Option(help: "The link's dead interval, milliseconds.")
        var deadMs = 500

        @Option(help: "The UDP path's interval, milliseconds (0: no UDP path, the link alone).")
        var udpIntervalMs = 9

        @Option(help: "The UDP path's multiplier: a peer unheard for interval × multiplier is dead.")
        var detectMultiplier = 5

        @Option(help: "The election thread's SCHED_FIFO priority (0: the normal scheduler).")
        var realtimePriority = 10

        @Option(help: "Soak for this many seconds instead of the rounds.")
        var soak: Int?

        @Option(help: "Soak: busy processes to run beside the pair (default: one per core).")
        var hogs: Int?

        @Option(help: "Soak: connections updated per second on the active while its snapshots stream.")
        var churn = 20_000

        @Option(help: "Soak: a note on the peer link's loss, printed as is (ops/bench/soak.sh sets it).")
        var lossNote = "none"

        @Flag(help: "Soak: each director in a process of its own (as on two machines), not both in this one.")
        var processes = false

        func run() async throws {
            var timers = FailoverBenchmark.Timers()
            timers.heartbeatMilliseconds = heartbeatMs
            timers.deadMilliseconds = deadMs
            timers.udpIntervalMilliseconds = udpIntervalMs > 0 ? udpIntervalMs : nil
            timers.detectMultiplier = detectMultiplier
            timers.realtimePriority = realtimePriority
            var json = JSONLine()
            if let soak {
                let pair = FailoverSoak(
                    seconds: soak,
                    connections: connections,
                    timers: timers,
                    hogs: hogs ?? ProcessInfo.processInfo.activeProcessorCount,
                    churnPerSecond: churn
                )
                let r = processes ? try await FailoverSoakProcesses(soak: pair).run() : try await pair.run()
                json.add("benchmark", "failover-soak")
                json.add("timers", "\(timers)")
                json.add("seconds", soak)
                json.add("connections", r.connections)
                json.add("hogs", r.hogs)
                json.add("directors", processes ? "a process each" : "one process")
                json.add("loss", lossNote)
                json.add("snapshots_completed", r.snapshotsCompleted)
                json.add("snapshot_bytes_streamed", r.snapshotBytes)
                json.add("false_failovers", r.falseFailovers)
                json.add("role_changes", r.roleChanges.joined(separator: "; "))
                json.add("udp_longest_silence_ms", Self.round1(r.longestSilenceMilliseconds))
                json.add("udp_datagrams_received", r.datagramsReceived)
                print(json.line)
                return
            }
            let r = try await FailoverBenchmark(rounds: rounds, connections: connections, timers: timers).run()
            json.add("benchmark", "failover")
            json.add("timers", "\(timers)")
            json.add("rounds", rounds)
            json.add("connections", r.connections)
            Self.add(&json, "crash_vips_held_ms", r.crashHeldMilliseconds)
            Self.add(&json, "crash_vips_announced_ms", r.crashAnnouncedMilliseconds)
            json.add(
                "crash_reasons",
                r.crashReasons.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            )
            Self.add(&json, "drill_checks_ms", r.drillChecksMilliseconds)
            Self.add(&json, "drill_handover_ms", r.drillHandoverMilliseconds)
            Self.add(&json, "drill_vips_ms", r.drillVIPMilliseconds)
            Self.add(&json, "drill_gap_ms", r.drillGapMilliseconds)
            Self.add(&json, "drill_overlap_ms", r.drillOverlapMilliseconds)
            json.add("drill_connections_lost", r.drillConnectionsLost)
            json.add("rejoin_s_p50", (Percentiles(r.rejoinSeconds).p50 * 100).rounded() / 100)
            print(json.line)
        }

        static func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }

        static func add(_ json: inout JSONLine, _ name: String, _ values: [Double]) {
            let p = Percentiles(values)
            json.add("\(name)_p50", round1(p.p50))
            json.add("\(name)_p99", round1(p.p99))
            json.add("\(name)_max", round1(p.max))
        }
    }

    struct SoakMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "failover-soak-member",
            abstract: "One director of `failover --soak --processes` (the soak starts it; not for direct use).",
            shouldDisplay: false
        )

        @Option(help: "The director's configuration file.")
        var config: String

        @Option(help: "The director's name.")
        var name: String

        @Option(help: "The peer's name.")
        var peer: String

        @Flag(help: "The UDP path is configured.")
        var udp = false

        @Option(help: "Connections to put in the table once active (0: none).")
        var table = 0

        @Option(help: "Connections updated per second once armed.")
        var churn = 20_000

        func run() async throws {
            try await FailoverSoakMember(
                configFile: config,
                name: name,
                peer: peer,
                fastPath: udp,
                table: table,
                churnPerSecond: churn
            ).run()
        }
    }
}

/// Nearest-rank percentiles of a sample.
struct Percentiles {
    let sorted: [Double]

    init(_ values: [Double]) { sorted = values.sorted() }

    /// The value at `fraction` (0…1) by the nearest-rank method; 0 for no values.
    func at(_ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(sorted.count, Swift.max(1, rank)) - 1]
    }

    var p50: Double { at(0.5) }
    var p99: Double { at(0.99) }
    var max: Double { sorted.last ?? 0 }
}

extension BenchCommand {
    struct Conns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "conns",
            abstract: "lvsync conns through a real control socket: time and memory to stream a large mirror table."
        )

        @Option(help: "Connections mirrored.")
        var connections = 1_000_000

        func run() async throws {
            let r = try await ConnsBenchmark(connections: connections).run()
            var json = JSONLine()
            json.add("benchmark", "conns")
            json.add("connections", r.connections)
            json.add("objects", r.objects)
            json.add("seconds", (r.seconds * 100).rounded() / 100)
            json.add("objects_per_s", (Double(r.objects) / max(r.seconds, 1e-9)).rounded())
            json.add("rss_before_mib", r.residentBeforeBytes >> 20)
            json.add("rss_peak_mib", r.residentPeakBytes >> 20)
            json.add("rss_growth_mib", max(0, r.residentPeakBytes - r.residentBeforeBytes) >> 20)
            json.add("largest_batch", r.largestBatch)
            print(json.line)
        }
    }
}

/// Why a benchmark cannot run.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
