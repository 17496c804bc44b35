import ArgumentParser
import Daemon

/// `lvsync check FILE`: validates a configuration and touches nothing.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Validate a configuration file and touch nothing (for scripts: exit status 0 if lvsync run would take it).",
        discussion: """
            Checks everything the daemon would refuse at start that needs no kernel: the file parsed (every \
            section, service and health check), the TLS files (the key private and matching, the certificate \
            valid now, signed by the CA, naming this node), the election's settings, the UDP heartbeat's key \
            file and the notify hook's command. Opens no socket and changes nothing, so it runs on a build \
            machine, in a chroot or before systemctl reload. Prints one line per part found usable and the \
            configuration's advice (valid settings that leave clients stuck, as warnings). Exit status: 0 usable, \
            1 refused (the reason names the file and the setting), 2 with --strict when there is advice.
            """
    )

    @Argument(help: "The configuration file (YAML).")
    var file: String

    @Flag(help: "Print nothing when the file is usable and has no advice.")
    var quiet = false

    @Flag(help: "Exit with status 2 when the file is usable but has advice.")
    var strict = false

    func run() throws {
        let check = try ConfigurationCheck(path: file)
        if !quiet {
            for finding in check.findings { printLine(finding) }
        }
        for advice in check.advice { printLine("warning: \(advice)") }
        if !quiet { printLine("\(file): usable") }
        if strict, !check.advice.isEmpty { throw ExitCode(2) }
    }
}
