import Daemon
import Failover
import Foundation
import LVSyncTestSupport
import Mirror
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The failover soak with each director in a process of its own, as on two machines: one director's stalls (a
/// snapshot's tables dropped and re-made, the address space's lock held by a large `munmap`) no longer reach the
/// other's election thread. The soak itself (busy processes, the relays it cuts, the role changes it counts) runs in
/// the parent; each director runs `lvsync-bench failover-soak-member` and tells the parent how it is on its standard
/// output, a line every 5 ms.
struct FailoverSoakProcesses: Sendable {
    let soak: FailoverSoak

    func run() async throws -> FailoverSoak.Result {
        // A director's process that ends while its standard input is written to is an error, not the soak's end.
        signal(SIGPIPE, SIG_IGN)
        var network = try SoakNetwork()
        defer { network.remove() }
        let (pki, ports, toA, toB) = (network.pki, network.ports, network.toA, network.toB)
        var files: [String] = []
        for (index, name) in ["dira", "dirb"].enumerated() {
            let yaml = try PairMember.configuration(
                name: name,
                priority: index == 0 ? 150 : 100,
                port: ports[index],
                peer: (index == 0 ? "dirb" : "dira", index == 0 ? toB.port : toA.port),
                udp: (ports[2 + index], ports[3 - index]),
                timers: soak.timers,
                logMegabytes: 1,
                pki: pki
            )
            try pki.write(yaml, to: "\(name).yaml")
            files.append(pki.path("\(name).yaml"))
        }
        let fast = soak.timers.udpIntervalMilliseconds != nil
        let a = try SoakChild(
            name: "dira",
            arguments: [
                "--config", files[0], "--name", "dira", "--peer", "dirb", "--table", "\(soak.connections)",
                "--churn", "\(soak.churnPerSecond)",
            ] + (fast ? ["--udp"] : [])
        )
        let b = try SoakChild(
            name: "dirb",
            arguments: ["--config", files[1], "--name", "dirb", "--peer", "dira"] + (fast ? ["--udp"] : [])
        )
        defer {
            a.kill()
            b.kill()
        }
        var result = FailoverSoak.Result(connections: soak.connections, hogs: soak.hogs)
        guard await FailoverBenchmark.until(.seconds(30), { a.state.role == "active" && b.state.synced }) else {
            throw DaemonError(
                "failover soak: the pair did not form within 30 s (\(a.state.exited ?? b.state.exited ?? ""))"
            )
        }
        guard await FailoverBenchmark.until(.seconds(300), { b.state.tableCount >= soak.connections }) else {
            throw DaemonError("failover soak: the standby did not mirror \(soak.connections) connections within 300 s")
        }
        let bytesPerSnapshot = RelayBenchmark.messages(soak.connections).reduce(0) { $0 + $1.count }
        let busy = try Hogs(count: soak.hogs)
        defer { busy.stop() }
        a.send("arm")
        b.send("arm")
        let end = ContinuousClock.now + .seconds(soak.seconds)
        while ContinuousClock.now < end {
            network.cut(ifInSync: b.state.synced)
            if let exited = a.state.exited ?? b.state.exited {
                throw DaemonError("failover soak: a director's process ended: \(exited)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        a.send("stop")
        b.send("stop")
        guard await FailoverBenchmark.until(.seconds(30), { a.state.final != nil && b.state.final != nil }) else {
            throw DaemonError("failover soak: the directors did not report at the end")
        }
        result.snapshotsCompleted = network.snapshotsCompleted
        result.snapshotBytes = result.snapshotsCompleted * bytesPerSnapshot
        for child in [a, b] {
            let state = child.state
            result.roleChanges += state.changes
            result.falseFailovers += state.changes.count
            result.longestSilenceMilliseconds = max(result.longestSilenceMilliseconds, state.final?.silence ?? 0)
            result.datagramsReceived += state.final?.received ?? 0
        }
        return result
    }
}

/// A director's process, as the parent sees it: what its last lines said.
final class SoakChild: Sendable {
    struct State: Sendable {
        var role = "?"
        var synced = false
        var tableCount = 0
        var changes: [String] = []
        var final: (silence: Double, received: Int)?
        var exited: String?
    }

    let name: String
    private let process: Process
    private let input: FileHandle
    private let shared = Shared()

    final class Shared: Sendable {
        let state = Mutex(State())
    }

    var state: State { shared.state.withLock { $0 } }

    init(name: String, arguments: [String]) throws {
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["failover-soak-member"] + arguments
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        self.process = process
        self.input = input.fileHandleForWriting
        let reading = output.fileHandleForReading
        let shared = shared
        // A thread of its own: a blocking read must not hold one of the pool's two threads.
        let reader = Thread {
            var pending = Data()
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    shared.state.withLock { Self.apply(line, to: &$0) }
                }
            }
            shared.state.withLock { $0.exited = $0.exited ?? "\(name) closed its output" }
        }
        reader.start()
    }

    /// Writes a command line to the director's standard input.
    func send(_ command: String) {
        try? input.write(contentsOf: Array("\(command)\n".utf8))
    }

    /// Ends the director's process (SIGKILL: a thread of the parent's may have spawned it with SIGTERM blocked).
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// `state ROLE SYNCED COUNT`, `change TEXT`, `final SILENCE_MS RECEIVED`.
    static func apply(_ line: String, to state: inout State) {
        let words = line.split(separator: " ", maxSplits: 1).map(String.init)
        guard let kind = words.first else { return }
        let rest = words.count > 1 ? words[1] : ""
        switch kind {
        case "state":
            let fields = rest.split(separator: " ")
            guard fields.count == 3 else { return }
            state.role = String(fields[0])
            state.synced = fields[1] == "1"
            state.tableCount = Int(fields[2]) ?? 0
        case "change":
            state.changes.append(rest)
        case "final":
            let fields = rest.split(separator: " ")
            guard fields.count == 2 else { return }
            state.final = (Double(fields[0]) ?? 0, Int(fields[1]) ?? 0)
        default:
            break
        }
    }
}

/// One director of the two-process soak, in its own process: reports its state on standard output every 5 ms and
/// takes `arm` (the soak begins: count role changes from here, reset the longest silence, start the churn) and
/// `stop` on standard input.
struct FailoverSoakMember: Sendable {
    let configFile: String
    let name: String
    let peer: String
    let fastPath: Bool
    let table: Int
    let churnPerSecond: Int

    func run() async throws {
        let yaml = try String(contentsOfFile: configFile, encoding: .utf8)
        let member = try PairMember(name: name, peerName: peer, fastPath: fastPath, yaml: yaml)
        let daemon = Task { try await member.daemon.run() }
        let commands = Mutex<[String]>([])
        let reader = Thread {
            while let line = Swift.readLine() { commands.withLock { $0.append(line) } }
            commands.withLock { $0.append("stop") }
        }
        reader.start()
        var emitted = false
        var armed = false
        var seen: ContinuousClock.Instant?
        var churn: Task<Void, Never>?
        let stop = StopFlag()
        let messages = table > 0 ? RelayBenchmark.messages(table) : []
        loop: while true {
            for command in commands.withLock({ list in
                defer { list.removeAll() }; return list
            }) {
                switch command {
                case "arm":
                    armed = true
                    seen = member.service.director.lastTransition?.at
                    member.service.heartbeats.resetLongestSilence()
                    if !messages.isEmpty, churn == nil {
                        churn = FailoverSoak.churn(
                            member.master,
                            messages: messages,
                            connections: table,
                            perSecond: churnPerSecond,
                            stop: stop
                        )
                    }
                case "stop":
                    break loop
                default:
                    break
                }
            }
            if !emitted, !messages.isEmpty, member.role == .active {
                member.master.emit(messages)
                emitted = true
            }
            if armed, let last = member.service.director.lastTransition, last.at != seen {
                seen = last.at
                Self.say("change \(name): \(last.from) → \(last.to) (\(last.reason))")
            }
            let synced = member.isSyncedStandby && member.hearsPeerFast
            Self.say("state \(member.role) \(synced ? 1 : 0) \(member.backup.table.count)")
            try await Task.sleep(for: .milliseconds(5))
        }
        stop.raised.store(true, ordering: .relaxed)
        await churn?.value
        var silence = 0.0
        var received = 0
        for (_, figures) in member.service.heartbeats.peers {
            silence = max(silence, FailoverBenchmark.milliseconds(figures.longestSilence))
            received += figures.received
        }
        Self.say("final \(silence) \(received)")
        // The parent has what it needs: no graceful stop (the soak's table is in memory only).
        member.service.halt()
        daemon.cancel()
        exit(0)
    }

    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { buffer in _ = write(1, buffer.baseAddress, buffer.count) }
    }
}
