/// One statement of a keepalived configuration: a keyword, its arguments and, for a block (`virtual_server … { }`),
/// the statements inside it; with the file and line it was read from, for the report.
public struct KeepalivedStatement: Hashable, Sendable {
    /// The first word (`virtual_server`, `lb_algo`, `real_server`, …).
    public var keyword: String
    /// The words after it on its line (quotes removed).
    public var arguments: [String]
    /// The statements between its braces; nil for a statement without a block.
    public var block: [KeepalivedStatement]?
    /// Where it was read: `file:line`.
    public var location: String

    /// Creates a statement.
    public init(keyword: String, arguments: [String] = [], block: [KeepalivedStatement]? = nil, location: String) {
        self.keyword = keyword
        self.arguments = arguments
        self.block = block
        self.location = location
    }

    /// The first statement of its block with one of these keywords (keepalived's aliases: `lb_algo`, `lvs_sched`).
    func first(_ keywords: String...) -> KeepalivedStatement? {
        (block ?? []).first { keywords.contains($0.keyword) }
    }
}
