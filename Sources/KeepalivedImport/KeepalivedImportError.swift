/// Every error of the KeepalivedImport module: a keepalived configuration that cannot be read at all (a file that
/// cannot be opened, an unbalanced brace, an include loop), named with the file and the line. What can be read but
/// not carried over is not an error: it goes in the import's report (``ImportFinding``).
public struct KeepalivedImportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, with the file and line.
    public var description: String

    init(_ description: String) { self.description = description }
}
