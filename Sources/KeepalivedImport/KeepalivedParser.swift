import Foundation

/// Reads a keepalived configuration into statements, as keepalived reads it: words separated by blanks, `#` and `!`
/// starting a comment, double quotes keeping blanks in a word, `{` and `}` opening and closing blocks (on the
/// statement's line or the next), and `include PATTERN` replaced by the files the glob pattern matches (relative to
/// the including file's folder), included files read the same way.
public enum KeepalivedParser {
    /// The statements of the file at `path`, includes followed.
    /// - Throws: ``KeepalivedImportError`` for a file that cannot be read, an unbalanced brace or an include loop.
    public static func parse(file path: String) throws(KeepalivedImportError) -> [KeepalivedStatement] {
        var reader = Reader()
        return try reader.file(path, depth: 0)
    }

    /// The statements of `text` (read from `name`; includes relative to `folder`).
    public static func parse(
        text: String,
        name: String = "keepalived.conf",
        folder: String = "."
    ) throws(KeepalivedImportError) -> [KeepalivedStatement] {
        var reader = Reader()
        return try reader.statements(text, name: name, folder: folder, depth: 0)
    }

    /// The words of one line: quotes removed, a comment cut off, braces words of their own.
    static func words(_ line: Substring) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        var inWord = false
        func end() {
            if inWord { words.append(current) }
            current = ""
            inWord = false
        }
        for character in line {
            if quoted {
                if character == "\"" { quoted = false } else { current.append(character) }
                continue
            }
            switch character {
            case "\"":
                quoted = true
                inWord = true
            case "#", "!":
                end()
                return words
            case "{", "}":
                end()
                words.append(String(character))
            case " ", "\t", "\r":
                end()
            default:
                current.append(character)
                inWord = true
            }
        }
        end()
        return words
    }

    struct Reader {
        /// The files being read, for include loops.
        var open: [String] = []

        mutating func file(_ path: String, depth: Int) throws(KeepalivedImportError) -> [KeepalivedStatement] {
            guard depth < 16 else { throw KeepalivedImportError("\(path): includes nest deeper than 16 files") }
            let canonical = URL(fileURLWithPath: path).standardizedFileURL.path
            guard !open.contains(canonical) else {
                throw KeepalivedImportError("\(path): includes itself (\(open.joined(separator: " -> ")))")
            }
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw KeepalivedImportError("\(path): cannot read: \(error.localizedDescription)")
            }
            open.append(canonical)
            defer { open.removeLast() }
            return try statements(
                text,
                name: path,
                folder: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                depth: depth
            )
        }

        mutating func statements(
            _ text: String,
            name: String,
            folder: String,
            depth: Int
        ) throws(KeepalivedImportError) -> [KeepalivedStatement] {
            // A stack of open blocks: the statements read so far at each level.
            var levels: [[KeepalivedStatement]] = [[]]
            var openedAt: [String] = []
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let location = "\(name):\(index + 1)"
                var words = KeepalivedParser.words(line)
                while !words.isEmpty {
                    let word = words.removeFirst()
                    if word == "{" {
                        // The block belongs to the last statement read at this level.
                        guard var owner = levels[levels.count - 1].popLast(), owner.block == nil else {
                            throw KeepalivedImportError("\(location): a '{' with no statement before it")
                        }
                        owner.block = []
                        levels[levels.count - 1].append(owner)
                        levels.append([])
                        openedAt.append(location)
                        continue
                    }
                    if word == "}" {
                        guard levels.count > 1 else {
                            throw KeepalivedImportError("\(location): a '}' that closes no block")
                        }
                        let inner = levels.removeLast()
                        openedAt.removeLast()
                        levels[levels.count - 1][levels[levels.count - 1].count - 1].block = inner
                        continue
                    }
                    // A statement: this word and the words up to a brace.
                    var arguments: [String] = []
                    while let next = words.first, next != "{", next != "}" { arguments.append(words.removeFirst()) }
                    if word == "include" {
                        for argument in arguments {
                            for path in Self.glob(argument, relativeTo: folder) {
                                levels[levels.count - 1] += try file(path, depth: depth + 1)
                            }
                        }
                        continue
                    }
                    levels[levels.count - 1].append(
                        KeepalivedStatement(keyword: word, arguments: arguments, location: location)
                    )
                }
            }
            if let unclosed = openedAt.last {
                throw KeepalivedImportError("\(unclosed): a '{' that is never closed (the file ends first)")
            }
            return levels[0]
        }

        /// The files a pattern names, sorted (keepalived's own glob: `*`, `?`, `[...]`).
        static func glob(_ pattern: String, relativeTo folder: String) -> [String] {
            let full = pattern.hasPrefix("/") ? pattern : folder + "/" + pattern
            var found = glob_t()
            defer { globfree(&found) }
            guard Foundation.glob(full, 0, nil, &found) == 0 else { return [] }
            return (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }.sorted()
        }
    }
}
