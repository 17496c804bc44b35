import ArgumentParser

/// `lvsync bench`: the benchmarks behind BENCHMARKS.md.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print its results as JSON (build with -c release).",
        subcommands: []
    )
}
