import ArgumentParser
import Control

/// `lvsync stats [--follow]`: the running daemon's sync statistics, one JSON line each.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print the running daemon's sync statistics as JSON lines (through its control socket).",
        discussion: """
            The keys are those of the daemon's sync statistics log line (sync.*, mirror.*, peer.*), sorted. \
            With --follow, a line every interval until interrupted.
            """
    )

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "Keep printing a line every interval until interrupted.")
    var follow = false

    @Option(help: "Seconds between lines with --follow (default: the daemon's, 1).")
    var interval: Double?

    func validate() throws {
        if let interval, !(interval > 0 && interval <= 86_400) {
            throw ValidationError("--interval: expected seconds from more than 0 to 86400, found \(interval)")
        }
        if interval != nil, !follow { throw ValidationError("--interval only means something with --follow") }
    }

    /// The request these options make.
    var request: ControlRequest {
        var arguments: [String: JSONValue] = [:]
        if follow { arguments["follow"] = true }
        if let interval {
            arguments["interval_seconds"] =
                interval.rounded() == interval ? .integer(Int64(interval)) : .number(interval)
        }
        return ControlRequest(command: "stats", arguments: arguments)
    }

    func run() async throws {
        // A follow's lines come an interval apart.
        let silence: Duration = follow ? .milliseconds(Int64((interval ?? 1) * 2000)) + .seconds(5) : .zero
        try await socket.withReply(to: request, silenceAtLeast: silence) { reply in
            for try await object in reply { printLine(object.jsonText) }
        }
    }
}
