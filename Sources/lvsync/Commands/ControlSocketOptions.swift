import ArgumentParser
import Config
import Control
import Foundation

/// Where the commands that talk to the running daemon (`status`, `stats`, `conns`) find its control socket.
struct ControlSocketOptions: ParsableArguments {
    @Option(help: "The daemon's control socket (default: \(ControlServer.defaultSocketPath)).")
    var socket: String?

    @Option(help: "Read the control socket's path from this configuration file (its control.socket).")
    var config: String?

    @Option(help: "Seconds to wait for each line of the daemon's reply before giving up (exit status 1).")
    var timeout: Double = 10

    func validate() throws {
        guard timeout > 0, timeout <= 86_400 else {
            throw ValidationError("--timeout: expected seconds from more than 0 to 86400, found \(timeout)")
        }
    }

    /// The socket's path: `--socket`, else the configuration's `control.socket`, else the default.
    func path() throws -> String {
        if let socket { return socket }
        guard let config else { return ControlServer.defaultSocketPath }
        let text: String
        do {
            text = try String(contentsOfFile: config, encoding: .utf8)
        } catch {
            throw CLIError("\(config): cannot read: \(error.localizedDescription)")
        }
        do {
            return try LVSyncConfig(yaml: text, file: config).peering?.controlSocket ?? ControlServer.defaultSocketPath
        } catch {
            throw CLIError(error.description)
        }
    }

    /// Sends `request` and hands the reply to `body`; the daemon's errors become the CLI's. A command whose reply
    /// lines come far apart by design (a slow `--follow`, a drill's waits) passes `atLeast`.
    func withReply<Result: Sendable>(
        to request: ControlRequest,
        silenceAtLeast atLeast: Duration = .zero,
        _ body: (ControlReply) async throws -> Result
    ) async throws -> Result {
        let path = try path()
        let limit = max(.milliseconds(Int64(timeout * 1000)), atLeast)
        do {
            return try await ControlClient.withReply(to: request, socketPath: path, silenceLimit: limit, body)
        } catch let error as ControlError {
            throw CLIError(error.message)
        }
    }
}

/// Writes a line to standard output at once (a follow piped into `jq` sees each line as it comes).
func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
