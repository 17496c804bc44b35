import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `lvsync bench ...`: runs `lvsync-bench ...`, the benchmarks' own executable, from beside this one (the shipped
/// binary carries neither the benchmarks nor the in-memory twins they run on).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark (codec, mirror, ipvs, relay, failover) with lvsync-bench, built beside lvsync.",
        discussion: "Build both with `swift build -c release`; `lvsync-bench --help` lists the benchmarks."
    )

    @Argument(parsing: .captureForPassthrough, help: "The benchmark and its options, as lvsync-bench takes them.")
    var arguments: [String] = []

    func run() throws {
        let own =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let bench = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("lvsync-bench").path
        guard FileManager.default.isExecutableFile(atPath: bench) else {
            throw CLIError(
                "no lvsync-bench beside \(own): build it with `swift build -c release` (the benchmarks ship apart)"
            )
        }
        let argv = ([bench] + arguments).map { strdup($0) } + [nil]
        execv(bench, argv)
        throw CLIError("cannot run \(bench): \(String(cString: strerror(errno)))")
    }
}
