import ArgumentParser
import PeerTransport

/// `lvsync certs`: the private CA the directors authenticate each other with.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "The private certificate authority and node certificates for the peer link's mutual TLS.",
        subcommands: [Init.self, Issue.self, Renew.self, Show.self]
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
                printWritten(files)
            } catch {
                throw CLIError(error.description)
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue",
            abstract: "Issue NAME.pem and NAME-key.pem from the CA in DIR (ca.pem, ca-key.pem).",
            discussion: "The key is written with mode 0600. Existing files are kept unless --force is given."
        )

        @Argument(help: "The directory holding ca.pem and ca-key.pem.")
        var directory: String

        @Option(help: "The node name (the certificate's DNS name).")
        var node: String

        @Option(help: "How many days the certificate is valid.")
        var days = CertificateAuthority.defaultNodeLifetimeDays

        @Option(help: "How many seconds the certificate is valid, instead of --days: for an expiry drill.")
        var seconds: Int?

        @Flag(help: "Overwrite existing files.")
        var force = false

        func validate() throws {
            guard days > 0 else { throw ValidationError("--days must be at least 1.") }
            guard (seconds ?? 1) > 0 else { throw ValidationError("--seconds must be at least 1.") }
        }

        func run() throws {
            do {
                printWritten(
                    try CertificateDirectory.issue(
                        directory: directory,
                        node: node,
                        days: days,
                        lifetime: seconds.map { Double($0) },
                        force: force
                    )
                )
            } catch {
                throw CLIError(error.description)
            }
        }
    }

    struct Renew: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "renew",
            abstract: "Re-issue NAME.pem in DIR with a new key, keeping the node name; then: systemctl reload lvsync.",
            discussion: """
                NAME.pem must exist and name the node. The new key (mode 0600) and certificate replace the old ones \
                by rename. Copy them to the director and reload it: new peer links use them, links up keep theirs.
                """
        )

        @Argument(help: "The directory holding ca.pem, ca-key.pem and NAME.pem.")
        var directory: String

        @Option(help: "The node name.")
        var node: String

        @Option(help: "How many days the new certificate is valid.")
        var days = CertificateAuthority.defaultNodeLifetimeDays

        func validate() throws {
            guard days > 0 else { throw ValidationError("--days must be at least 1.") }
        }

        func run() throws {
            do {
                printWritten(try CertificateDirectory.renew(directory: directory, node: node, days: days))
            } catch {
                throw CLIError(error.description)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show certificates: subject, DNS names, issuer, validity, days left, whether they chain to --ca."
        )

        @Argument(help: "PEM certificate files.")
        var files: [String]

        @Option(help: "A CA bundle the certificates must chain to.")
        var ca: String?

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("Name at least one certificate file.") }
        }

        func run() throws {
            var failed = false
            for (index, file) in files.enumerated() {
                if index > 0 { print("") }
                do {
                    let summary = try CertificateSummary.read(path: file, caFile: ca)
                    summary.lines.forEach { print($0) }
                    if summary.chainsToCA == false { failed = true }
                } catch {
                    print("\(file): \(error.description)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

private func printWritten(_ files: [CertificateDirectory.WrittenFile]) {
    for file in files {
        print("wrote \(file.path) (mode \(String(file.mode, radix: 8)))")
    }
}
