import ArgumentParser
import Control
import Foundation

/// `lvsync drill`: a planned switchover of the running pair, asked of the active director; with `--member`, a
/// planned drain of the cluster member it runs on.
struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Hand the VIPs over to the in-sync standby and report what moved (ask the active director).",
        discussion: """
            The active director re-sends the kernel's own connection table, waits until the standby has applied \
            everything, hands over, and waits for the standby to advertise itself active. The report gives the \
            handover time, the connections on both directors before and after, and the connections lost. It \
            refuses (exit status 1, with the reason) when the standby is not in sync, unless --force.

            With --member NAME, on a cluster member that announces its VIPs (cluster.announce): the member re-sends \
            its kernel's own connections, waits until every other member has acknowledged them, withdraws its \
            routes, watches its kernel's inbound packets while the routers move the flows away for --seconds \
            (cluster.announce.drain_ms by default), then announces again. NAME is the member the drill runs on.
            """
    )

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "Hand over (or drain) even when a check fails.")
    var force = false

    @Option(
        help: "Drain this cluster member (the one whose daemon answers on the socket) instead of a pair's handover."
    )
    var member: String?

    @Option(help: "With --member: how long the routes stay withdrawn (default: cluster.announce.drain_ms).")
    var seconds: Double?

    @Flag(help: "Print the report as one JSON line (progress goes to standard error).")
    var json = false

    func validate() throws {
        if seconds != nil, member == nil { throw ValidationError("--seconds is for a member drill: add --member NAME") }
        if let seconds, !(seconds > 0 && seconds <= 3600) {
            throw ValidationError("--seconds must be more than 0 and at most 3600")
        }
    }

    func run() async throws {
        let (json, force) = (json, force)
        var arguments: [String: JSONValue] = ["force": .bool(force)]
        if let member { arguments["member"] = .string(member) }
        if let seconds { arguments["seconds"] = .number(seconds) }
        let request = ControlRequest(command: "drill", arguments: arguments)
        // The drill's steps wait for the standby (its own bounds are shorter than this).
        let report = try await socket.withReply(to: request, silenceAtLeast: .seconds(120)) { reply -> JSONValue? in
            var report: JSONValue?
            for try await object in reply {
                if let step = object["progress"]?.stringValue {
                    FileHandle.standardError.write(Data("drill: \(step)\n".utf8))
                } else if let value = object["report"] {
                    report = value
                }
            }
            return report
        }
        guard let report else { throw CLIError("the daemon ended the drill without a report") }
        let text = member == nil ? DrillText.render(report) : MemberDrillText.render(report)
        printLine(json ? report.jsonText : text)
        if report["completed"]?.boolValue != true { throw ExitCode(1) }
    }
}

/// The drill report as an operator pastes it into a change ticket.
enum DrillText {
    static func render(_ report: JSONValue) -> String {
        let from = report["from"]?.stringValue ?? "?"
        let to = report["to"]?.stringValue ?? "none"
        var lines: [String] = []
        if report["completed"]?.boolValue == true {
            lines.append("lvsync drill: handed over from \(from) to \(to)")
        } else {
            lines.append("lvsync drill: REFUSED — \(report["refusal"]?.stringValue ?? "no reason given")")
        }
        lines.append("  started:           \(report["started_at"]?.stringValue ?? "?")")
        if let ms = report["handover_ms"]?.doubleValue {
            lines.append("  handover:          \(String(format: "%.1f", ms)) ms")
        }
        func counts(_ key: String) -> String {
            guard let object = report[key]?.objectValue else { return "-" }
            return object.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.integerValue ?? 0)" }
                .joined(separator: ", ")
        }
        lines.append("  connections before: \(counts("connections_before"))")
        lines.append("  connections after:  \(counts("connections_after"))")
        if report["kernel_connections_before"]?.objectValue?.isEmpty == false {
            lines.append("  kernels before:     \(counts("kernel_connections_before"))")
            lines.append("  kernels after:      \(counts("kernel_connections_after"))")
        }
        if let lost = report["connections_lost"]?.integerValue { lines.append("  connections lost:  \(lost)") }
        if let unacked = report["unacknowledged_batches_at_switch"]?.integerValue {
            lines.append("  sync lag at switch: \(unacked) unacknowledged batches")
        }
        lines.append("  kernel re-sent:    \(report["reconciled_from_kernel"]?.integerValue ?? 0) connections")
        if report["forced"]?.boolValue == true { lines.append("  forced:            yes") }
        for check in report["checks"]?.arrayValue ?? [] {
            lines.append("  check: \(check.stringValue ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// The member drill's report as an operator pastes it into a change ticket.
enum MemberDrillText {
    static func render(_ report: JSONValue) -> String {
        let member = report["member"]?.stringValue ?? "?"
        var lines: [String] = []
        if report["completed"]?.boolValue == true {
            lines.append("lvsync drill: drained \(member) and announced it again")
        } else {
            lines.append("lvsync drill: REFUSED — \(report["refusal"]?.stringValue ?? "no reason given")")
        }
        func number(_ key: String, _ format: String = "%.0f") -> String {
            report[key]?.doubleValue.map { String(format: format, $0) } ?? "-"
        }
        lines.append("  started:            \(report["started_at"]?.stringValue ?? "?")")
        let members = report["members"]?.arrayValue?.compactMap(\.stringValue) ?? []
        lines.append("  taken by:           \(members.isEmpty ? "-" : members.joined(separator: ", "))")
        lines.append("  routes withdrawn:   \(number("held_ms")) ms")
        lines.append("  own connections:    \(report["connections_before"]?.integerValue ?? 0)")
        lines.append(
            "  kernel before:      \(report["kernel_connections_before"]?.integerValue.map(String.init) ?? "-")"
        )
        lines.append(
            "  kernel after:       \(report["kernel_connections_after"]?.integerValue.map(String.init) ?? "-")"
        )
        lines.append("  inbound before:     \(number("inbound_pps_before")) packets/s")
        lines.append("  inbound at the end: \(number("inbound_pps_at_end")) packets/s")
        if let gone = report["traffic_gone_ms"]?.doubleValue {
            lines.append("  traffic gone after: \(String(format: "%.0f", gone)) ms")
        }
        if let lost = report["connections_lost"]?.integerValue { lines.append("  connections lost:   \(lost)") }
        let behind = report["unacknowledged_at_withdrawal"]?.objectValue ?? [:]
        if !behind.isEmpty {
            let text = behind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.integerValue ?? 0)" }
            lines.append("  unacknowledged:     \(text.joined(separator: ", ")) batches at the withdrawal")
        }
        lines.append("  kernel re-sent:     \(report["reconciled_from_kernel"]?.integerValue ?? 0) connections")
        if report["forced"]?.boolValue == true { lines.append("  forced:             yes") }
        for check in report["checks"]?.arrayValue ?? [] {
            lines.append("  check: \(check.stringValue ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}
