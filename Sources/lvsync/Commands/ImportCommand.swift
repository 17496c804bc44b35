import ArgumentParser
import Foundation
import KeepalivedImport

/// `lvsync import keepalived.conf`: a keepalived configuration as lvsync's, with a report.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Turn a keepalived configuration into an lvsync configuration, reporting what cannot be carried over.",
        discussion: """
            Reads keepalived.conf (its include files too): global_defs (router_id, lvs_sync_daemon), the \
            vrrp_instances (priority, nopreempt, preempt_delay, advert_int, virtual_ipaddress, track_interface, \
            unicast peers), the virtual_servers and virtual_server_groups with their real servers and checks \
            (TCP_CHECK, HTTP_GET, SSL_GET, DNS_CHECK, MISC_CHECK, UDP_CHECK), sorry servers, persistence, \
            inhibit_on_failure. Writes the lvsync configuration (stdout, or --output) and the report (stderr, \
            or --report): one line per keyword not carried over, or carried over with a different behaviour \
            (keepalived removes a failed server unless inhibit_on_failure; its HTTP digest is MD5; its retries \
            come after delay_before_retry). The output is read back as an lvsync configuration before it is \
            written. Exit status 0, 1 when the file cannot be read; with --strict, 3 when the report has lines.
            """
    )

    @Argument(help: "The keepalived configuration (e.g. /etc/keepalived/keepalived.conf).")
    var file: String

    @Option(help: "This director's name (default: global_defs' router_id).")
    var node: String?

    @Flag(help: "Only the virtual_services section (for lvsync ipvs apply).")
    var servicesOnly = false

    @Option(name: .shortAndLong, help: "Write the configuration here instead of stdout.")
    var output: String?

    @Option(help: "Write the report here instead of stderr.")
    var report: String?

    @Flag(help: "Exit with status 3 when the report has lines (something not carried over or different).")
    var strict = false

    func run() throws {
        let statements: [KeepalivedStatement]
        var translator = KeepalivedTranslator(options: .init(node: node, servicesOnly: servicesOnly))
        let result: ImportResult
        do {
            statements = try KeepalivedParser.parse(file: file)
            result = try translator.translate(statements, source: file)
        } catch {
            throw CLIError(error.description)
        }
        if let output {
            do {
                try result.yaml.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("\(output): cannot write: \(error.localizedDescription)")
            }
        } else {
            print(result.yaml, terminator: "")
        }
        let summary =
            "lvsync import: \(result.services.count) virtual services; \(result.findings.count) report lines "
            + "(\(result.findings.filter { $0.kind == .notCarried }.count) not carried, "
            + "\(result.findings.filter { $0.kind == .differs }.count) differ)"
        let text = (result.findings.map(\.description) + [summary]).joined(separator: "\n") + "\n"
        if let report {
            do {
                try text.write(toFile: report, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("\(report): cannot write: \(error.localizedDescription)")
            }
        } else {
            FileHandle.standardError.write(Data(text.utf8))
        }
        if strict, !result.findings.isEmpty { throw ExitCode(3) }
    }
}
