import ArgumentParser
import Control
import Foundation

/// `lvsync drill`: a planned switchover of the running pair, asked of the active director.
struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Hand the VIPs over to the in-sync standby and report what moved (ask the active director).",
        discussion: """
            The active director re-sends the kernel's own connection table, waits until the standby has applied \
            everything, hands over, and waits for the standby to advertise itself active. The report gives the \
            handover time, the connections on both directors before and after, and the connections lost. It \
            refuses (exit status 1, with the reason) when the standby is not in sync, unless --force.
            """
    )

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "Hand over even when the standby is not in sync.")
    var force = false

    @Flag(help: "Print the report as one JSON line (progress goes to standard error).")
    var json = false

    func run() async throws {
        let (json, force) = (json, force)
        let request = ControlRequest(command: "drill", arguments: ["force": .bool(force)])
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
        printLine(json ? report.jsonText : DrillText.render(report))
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
