import ArgumentParser
import PeerTransport

/// `lvsync certs`: the private CA the directors authenticate each other with.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "The private certificate authority and node certificates for the peer link's mutual TLS.",
        subcommands: [Init.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a CA and one certificate per node: ca.pem, ca-key.pem, NAME.pem, NAME-key.pem.",
            discussion: """
                Keys are written with mode 0600, a missing directory is created with mode 0700. Copy ca.pem, \
                NAME.pem and NAME-key.pem to each director; keep ca-key.pem elsewhere.
                """
        )

        @Argument(help: "The directory to write into (created if missing).")
        var directory: String

        @Option(name: .customLong("node"), help: "A director's node name (its certificate's DNS name); repeat it.")
        var nodes: [String] = []

        @Option(help: "How many days the node certificates are valid.")
        var days = CertificateAuthority.defaultNodeLifetimeDays

        @Flag(help: "Overwrite existing files.")
        var force = false

        func validate() throws {
            guard !nodes.isEmpty else { throw ValidationError("Name at least one node with --node NAME.") }
            guard days > 0 else { throw ValidationError("--days must be at least 1.") }
        }

        func run() throws {
            do {
                let files = try CertificateDirectory.initialize(
                    directory: directory,
                    nodes: nodes,
                    nodeDays: days,
                    force: force
                )
                for file in files {
                    print("wrote \(file.path) (mode \(String(file.mode, radix: 8)))")
                }
            } catch {
                throw CLIError(error.description)
            }
        }
    }
}
