import ArgumentParser
import Control

/// `lvsync status`: the running daemon's role, priority, VIPs, sync state and peers.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running daemon's role, priority, VIPs, sync state and peers (through its control socket)."
    )

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "Print the daemon's status object as one JSON line.")
    var json = false

    func run() async throws {
        let json = json
        try await socket.withReply(to: ControlRequest(command: "status")) { reply in
            for try await object in reply {
                printLine(json ? object.jsonText : StatusText.render(object))
            }
        }
    }
}
