import ArgumentParser
import Control
import Daemon
import Foundation
import HostNetwork
import IPVS
import SyncWire

/// `lvsync replay`: re-encode captured sync messages and hand them to this host's kernel backup sync thread.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Re-encode captured sync messages with lvsync's encoder and inject them into the local kernel backup.",
        discussion: """
            Each message of the input is decoded, encoded again by lvsync (optionally with another sync ID or \
            format version) and sent as a looped multicast datagram (TTL 0: nothing leaves the host) out of \
            --interface, where the kernel's backup sync daemon must be running. The sends are paced by the backup \
            socket's queue and a datagram the kernel dropped is sent again, as the standby's sink does (--unpaced: \
            back to back, as sendto() alone would). Prints one JSON summary line: what was sent, what the kernel \
            dropped, and how many connections the kernel held before and after, by its real servers' counters when \
            it has virtual services (cheap at any size), else (or with --count-table) by its table, \
            /proc/net/ip_vs_conn (each read of which walks the table once per page: minutes at 10^5-10^6 entries \
            on a slow machine).
            """
    )

    @OptionGroup var input: MessageInputOptions

    @Option(help: "The interface the kernel backup sync daemon runs on.")
    var interface: String

    @Option(help: "The sync multicast group.")
    var group = "224.0.0.81"

    @Option(help: "The sync UDP port (the kernel's base port).")
    var port: UInt16 = 8848

    @Option(help: "Rewrite the sync ID of every message.")
    var syncid: UInt8?

    @Option(help: "Re-encode in this format version (0 or 1) instead of each message's own.")
    var version: UInt8?

    @Flag(help: "Send back to back, without pacing or resending (to measure what the kernel loses then).")
    var unpaced = false

    @Flag(help: "Count the kernel's connections in /proc/net/ip_vs_conn, not by its real servers' counters.")
    var countTable = false

    func validate() throws {
        guard IPAddress(group) != nil else { throw ValidationError("--group '\(group)' is not an IP address") }
        if let version, SyncProtocolVersion(rawValue: version) == nil {
            throw ValidationError("--version must be 0 or 1")
        }
    }

    func run() throws {
        let input = try input.read(port: port)
        let injector = try MulticastInjector(interface: interface, group: IPAddress(group)!, port: port)
        let reader = injector.backupQueue
        let before = kernelConnections()
        let dropsBefore = reader?.queue()?.drops
        let feeder = KernelFeeder(injector: injector, reader: unpaced ? nil : reader)
        defer { feeder.stop() }
        let started = ContinuousClock.now
        var sent = 0
        var entries = 0
        var bytes = 0
        var problems = input.problems.map(\.description)
        for item in input.items {
            let decoded = SyncMessageDecoder.decode(item.bytes)
            problems += decoded.problems.map(item.describe)
            guard var message = decoded.message, !message.connections.isEmpty else { continue }
            if let syncid { message.syncID = syncid }
            if let version { message.version = SyncProtocolVersion(rawValue: version)! }
            let encoded: [UInt8]
            do {
                encoded = try SyncMessageEncoder.encode(message)
            } catch {
                problems.append(item.describe(error))
                continue
            }
            let queued = encoded.withUnsafeBytes { feeder.enqueue($0) }
            if !queued {
                problems.append("a message was not sent: the queue into the kernel is full")
                continue
            }
            sent += 1
            entries += message.connections.count
            bytes += encoded.count
        }
        let done = DispatchSemaphore(value: 0)
        feeder.whenDone { done.signal() }
        done.wait()
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // What the backup thread still has queued goes into the table before it is counted.
        for _ in 0..<200 where (reader?.queue()?.queued ?? 0) > 0 { usleep(50_000) }
        let figures = feeder.figures
        let after = kernelConnections()
        let dropsAfter = reader?.queue()?.drops
        var summary = JSONLine()
        summary.add("messages", sent)
        summary.add("entries", entries)
        summary.add("bytes", bytes)
        summary.add("interface", interface)
        summary.add("destination", injector.destination.description)
        summary.add("paced", !unpaced)
        summary.add("seconds", (seconds * 1000).rounded() / 1000)
        summary.add("resent", figures.resent)
        summary.add("pacing_ms", Int(figures.pacedMicroseconds / 1000))
        summary.add("kernel_drops", Int(figures.kernelDrops))
        summary.add("lost", Int(figures.lost))
        if let dropsBefore, let dropsAfter, dropsAfter >= dropsBefore {
            summary.add("socket_drops", Int(dropsAfter - dropsBefore))
        }
        if let before, let after {
            summary.add("kernel_connections_before", before.count)
            summary.add("kernel_connections", after.count)
            summary.add("kernel_counted_by", after.by)
        }
        summary.add("problems", problems.count)
        print(summary.line)
        for problem in problems {
            var line = JSONLine()
            line.add("error", problem)
            print(line.line)
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }

    /// The kernel's connections in this namespace, and how they were counted (`real_servers`: the counters of a
    /// kernel with virtual services; `table`: its `/proc/net/ip_vs_conn`), nil when neither can be read.
    func kernelConnections() -> (count: Int, by: String)? {
        if !countTable, let ipvs = try? NetlinkIPVS(), let services = try? ipvs.services(), !services.isEmpty,
            let count = try? ipvs.connectionCount()
        {
            return (count.total, "real_servers")
        }
        guard let text = ProcFile.text("/proc/net/ip_vs_conn") else { return nil }
        let lines = text.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        return (max(0, lines - 1), "table")
    }
}
