import ArgumentParser
import Control
import Foundation
import HostNetwork
import SyncWire

/// `lvsync conns`: the connections the running daemon mirrors, like `ipvsadm -Lnc`.
struct ConnsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conns",
        abstract: "List the connections the running daemon mirrors, like `ipvsadm -Lnc` (through its control socket).",
        discussion: """
            With --kernel, the kernel's own table instead (/proc/net/ip_vs_conn, read directly: no daemon needed), \
            as ipvsadm -Lnc --persistent-conn prints it. Side by side, the two show what the mirror holds that the \
            kernel does not, and the reverse. A table of 10^5 entries takes seconds to read: the kernel walks its \
            table from the start for every page it returns.
            """
    )

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "Print one JSON object per connection instead of the table.")
    var json = false

    @Option(help: "Only the connections to this virtual address.")
    var vip: String?

    @Option(help: "Only the connections to this virtual service: PROTO:ADDR:PORT (tcp:10.0.0.100:80).")
    var service: String?

    @Flag(help: "The kernel's own table (/proc/net/ip_vs_conn), not the daemon's mirror.")
    var kernel = false

    @Option(help: "With --kernel: read this file instead of /proc/net/ip_vs_conn (a saved copy of it).")
    var file: String = "/proc/net/ip_vs_conn"

    func validate() throws {
        if let vip, IPAddress(vip) == nil {
            throw ValidationError("--vip: \"\(vip)\" is not an IPv4 or IPv6 address")
        }
        if let service, Self.service(service) == nil {
            throw ValidationError(
                "--service: expected PROTO:ADDR:PORT (tcp, udp or sctp; tcp:10.0.0.100:80, tcp:[fd00::100]:443), "
                    + "found \"\(service)\""
            )
        }
    }

    /// A service filter in the daemon's form, `tcp:10.0.0.100:80`; nil if it is not one.
    static func service(_ text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let proto = text[..<colon].lowercased()
        guard ["tcp", "udp", "sctp"].contains(proto), let endpoint = Endpoint(text[text.index(after: colon)...]),
            endpoint.port != 0
        else { return nil }
        return "\(proto):\(endpoint)"
    }

    /// The request these options make.
    var request: ControlRequest {
        var arguments: [String: JSONValue] = [:]
        if let vip, let address = IPAddress(vip) { arguments["vip"] = .string("\(address)") }
        if let service, let canonical = Self.service(service) { arguments["service"] = .string(canonical) }
        return ControlRequest(command: "conns", arguments: arguments)
    }

    func run() async throws {
        if kernel {
            try printKernelTable()
            return
        }
        let json = json
        // Each connection is printed as it comes (the table's first rows are held a moment for its header):
        // nothing holds the whole reply.
        try await socket.withReply(to: request) { reply in
            var table = ConnectionTableText.Printer()
            for try await object in reply {
                if json {
                    printLine(object.jsonText)
                } else if let text = table.add(object) {
                    printLine(text)
                }
            }
            if !json, let text = table.finish() { printLine(text) }
        }
    }

    /// `--kernel`: the kernel's table, filtered like the mirror's, as `ipvsadm -Lnc --persistent-conn` prints it.
    func printKernelTable() throws {
        guard let text = ProcFile.text(file) else {
            throw CLIError("cannot read \(file): \(String(cString: strerror(errno)))")
        }
        let table = ProcConnTable(parsing: text)
        let vipFilter = vip.flatMap(IPAddress.init)
        let serviceFilter = service.flatMap(Self.service)
        let rows = table.entries.filter { entry in
            if let vipFilter, entry.virtual.address != vipFilter { return false }
            if let serviceFilter, "\(entry.ipProtocol.name.lowercased()):\(entry.virtual)" != serviceFilter {
                return false
            }
            return true
        }.map(Self.object)
        if json {
            for row in rows { printLine(row.jsonText) }
        } else {
            printLine(ConnectionTableText.render(rows))
        }
        for problem in table.problems { FileHandle.standardError.write(Data("\(file): \(problem)\n".utf8)) }
    }

    /// A kernel entry as the daemon's `conns` reply object (the same keys; `template` as /proc lets one infer it).
    static func object(_ entry: ProcConnection) -> JSONValue {
        var row: [String: JSONValue] = [
            "protocol": .string(entry.ipProtocol.name.lowercased()),
            "client": .string("\(entry.client)"),
            "virtual": .string("\(entry.virtual)"),
            "destination": .string("\(entry.destination)"),
            "state": .string(entry.stateName),
            "expires_seconds": .integer(Int64(entry.expires)),
            "template": .bool(entry.isTemplate),
        ]
        if let persistence = entry.persistence {
            row["pe_name"] = .string(persistence.engine)
            row["pe_data"] = .string(persistence.dataText ?? String(decoding: persistence.data, as: UTF8.self))
        }
        return .object(row)
    }
}
