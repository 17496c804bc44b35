import ArgumentParser
import Control
import Foundation
import SyncWire

/// `lvsync decode`: decode kernel sync messages from hex lines or a pcap capture.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode kernel IPVS sync messages (hex lines or a pcap of UDP datagrams).",
        discussion: """
            With --json, prints one JSON object per connection entry, one per line, and {"error": "..."} for each \
            malformed message or rejected entry, naming the message index and the reason. Exits 1 if any message \
            was malformed.
            """
    )

    @OptionGroup var input: MessageInputOptions

    @Option(help: "With --pcap, decode only datagrams sent to this UDP port.")
    var port: UInt16?

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func run() throws {
        let input = try input.read(port: port)
        var malformed = !input.problems.isEmpty
        var printer = DecodePrinter(json: json)
        for problem in input.problems { printer.error(problem.description) }
        for item in input.items {
            let decoded = SyncMessageDecoder.decode(item.bytes)
            if let message = decoded.message {
                for connection in message.connections { printer.entry(connection, message: message, index: item.index) }
            }
            for problem in decoded.problems {
                malformed = true
                printer.error(item.describe(problem))
            }
        }
        printer.finish()
        if malformed { throw ExitCode(1) }
    }
}

/// Prints decoded entries as JSON lines or as a table.
struct DecodePrinter {
    let json: Bool
    private var rows: [[String]] = []

    init(json: Bool) { self.json = json }

    mutating func entry(_ c: SyncConnection, message: SyncMessage, index: Int) {
        if json {
            print(c.decodeJSONLine(version: message.version, syncID: message.syncID))
            return
        }
        let pe = c.persistence.map { "\($0.engine) \($0.dataText ?? HexMessages.hex($0.data))" } ?? ""
        rows.append([
            "\(index)", "v\(message.version.rawValue)", "\(message.syncID)", c.ipProtocol.name,
            c.client.description, c.virtual.description, c.destination.description, c.stateName,
            c.isTemplate ? "template" : c.forwardingMethod.description,
            "0x" + String(c.flags.rawValue, radix: 16), c.timeout.map { "\($0)" } ?? "-",
            c.fwmark.map { "\($0)" } ?? "-", pe,
        ])
    }

    func error(_ text: String) {
        if json {
            var line = JSONLine()
            line.add("error", text)
            print(line.line)
        } else {
            FileHandle.standardError.write(Data("error: \(text)\n".utf8))
        }
    }

    func finish() {
        guard !json else { return }
        let header = [
            "MSG", "VER", "SYNCID", "PROTO", "CLIENT", "VIRTUAL", "DESTINATION", "STATE", "KIND", "FLAGS", "TIMEOUT",
            "FWMARK", "PE",
        ]
        let table = [header] + rows
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            let padded = row.enumerated().map { column, cell in
                cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            print(padded.joined(separator: "  ").trimmingTrailingSpaces())
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
