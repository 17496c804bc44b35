import ArgumentParser
import Control

/// `lvsync audit`: the running director's kernel held against its mirror now, instead of at the next round.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Hold the kernel's connection table against the mirror now and print what was found.",
        discussion: """
            A standby looks for every connection of its mirror (with at least ten seconds left) in its kernel's \
            /proc/net/ip_vs_conn and sends the missing ones to the kernel again; an active director takes into its \
            mirror (and so to the standbys) what its kernel holds and the mirror lacks. The daemon does this on its \
            own every 15 seconds, or ten times as long as the last audit took (reading a table of a million entries \
            costs the kernel seconds); this asks for it at once, e.g. before a drill. Exit status 1 when the table \
            could not be read.
            """
    )

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "Print the report as one JSON line.")
    var json = false

    func run() async throws {
        let json = json
        // An audit of a large table takes as long as the kernel takes to print it.
        let report = try await socket.withReply(to: ControlRequest(command: "audit"), silenceAtLeast: .seconds(600)) {
            reply -> JSONValue? in
            var report: JSONValue?
            for try await object in reply { report = object }
            return report
        }
        guard let report else { throw CLIError("the daemon ended the audit without a report") }
        printLine(json ? report.jsonText : Self.render(report))
        if report["error"] != nil { throw ExitCode(1) }
    }

    static func render(_ report: JSONValue) -> String {
        let role = report["role"]?.stringValue ?? "?"
        if let error = report["error"]?.stringValue { return "lvsync audit (\(role)): \(error)" }
        func figure(_ key: String) -> String { report[key].map { "\($0.jsonText)" } ?? "?" }
        var lines = ["lvsync audit (\(role)) in \(figure("seconds")) s"]
        lines.append("  kernel table:        \(figure("kernel_table")) entries")
        lines.append("  kernel count:        \(figure("kernel_connections")) (its real servers' counters)")
        if role == "standby" {
            lines.append("  mirror checked:      \(figure("mirror_checked"))")
            lines.append("  missing, sent again: \(figure("missing"))")
        } else {
            lines.append("  taken into mirror:   \(figure("reconciled"))")
        }
        return lines.joined(separator: "\n")
    }
}
