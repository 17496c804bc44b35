import Foundation
import Testing

/// lvsync.yaml(5) is made from the Config module's doc comments (ops/man/config-man.py): every key a parser accepts
/// must be shown there, or the reference would leave it out.
@Suite("Configuration: the reference covers every key")
struct ConfigReferenceTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/Config").standardized

    @Test("every key in the parsers' allowed sets appears as `key:` in the doc comments")
    func everyKeyDocumented() throws {
        var documentation = ""
        var keys: Set<String> = []
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path).filter {
            $0.hasSuffix(".swift")
        }
        // The key lists: `allowed: [...]` and the `Set<String>` constants the parsers pass to it.
        let list = try Regex(#"(?:allowed:|Set<String> =|allCases\.map\(\\\.rawValue\) \+)\s*\[([^\]]*)\]"#)
        let literal = try Regex(#""([a-z0-9_]+)""#)
        for file in files {
            let text = try String(contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
            documentation += text.split(separator: "\n").filter { $0.hasPrefix("///") }.joined(separator: "\n")
            for match in text.matches(of: list) {
                let body = String(match.output[1].substring ?? "")
                for key in body.matches(of: literal) { keys.insert(String(key.output[1].substring ?? "")) }
            }
        }
        // The kernel section's keys are the IPVS sysctls' names (IPVSSysctl), listed in its doc comment.
        keys.formUnion(["expire_nodest_conn", "expire_quiescent_template", "sloppy_tcp", "sloppy_sctp"])
        #expect(keys.count > 60, "found only \(keys.count) keys: the pattern no longer finds the parsers' lists")
        let missing = keys.filter { key in
            documentation.range(of: "(^|[^a-z_])\(key):", options: .regularExpression) == nil
        }
        #expect(missing.isEmpty, "keys the reference does not show: \(missing.sorted())")
    }
}
