import CapstanAPI

/// A YAML document that does not parse, with the 1-based line of the problem.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "yaml: line \(line): \(message)" }
}

/// Converts YAML text into ``JSONValue``, as kube-apiserver does for `application/yaml` and
/// `application/apply-patch+yaml` bodies.
///
/// The supported language is the part of YAML 1.2 manifests use: block mappings and sequences
/// (sequences may sit at their key's indentation, `- key: value` items open a mapping), flow
/// collections (`{a: 1, b: [x, y]}`, across lines too), plain, single- and double-quoted scalars
/// (escapes, multi-line folding), literal and folded block scalars (`|`, `>`, chomping `-`/`+`,
/// explicit indentation), comments, `---`/`...` document markers and `%` directives. Tags are
/// accepted (`!!str` keeps a scalar a string, others are ignored); anchors, aliases and complex
/// `?` keys are rejected with an error naming the line.
///
/// Plain scalars resolve by the YAML 1.2 core schema: `null`, `~` and empty are null;
/// `true`/`false` (any case style) booleans; decimal, `0o` octal and `0x` hex integers; decimal
/// floats, `.inf`, `.nan`; everything else is a string.
public enum YAML {
    /// The maximum nesting of collections.
    public static let maximumDepth = 100

    /// Every non-empty document of a (possibly multi-document) stream.
    public static func parseDocuments(_ text: String) throws(YAMLError) -> [JSONValue] {
        var out: [JSONValue] = []
        for document in split(text) {
            var parser = YAMLParser(lines: document)
            if let value = try parser.document() { out.append(value) }
        }
        return out
    }

    /// A single document (a stream with more than one is an error); empty input is null.
    /// `duplicateKeys` collects the paths of keys given twice (the later value wins).
    public static func parse(_ text: String, duplicateKeys: inout [String]) throws(YAMLError) -> JSONValue {
        let documents = split(text)
        var result: JSONValue? = nil
        for document in documents {
            var parser = YAMLParser(lines: document)
            guard let value = try parser.document() else { continue }
            if result != nil {
                throw YAMLError(line: document.first?.number ?? 1, message: "expected a single document in the stream")
            }
            result = value
            duplicateKeys += parser.duplicates
        }
        return result ?? .null
    }

    public static func parse(_ text: String) throws(YAMLError) -> JSONValue {
        var ignored: [String] = []
        return try parse(text, duplicateKeys: &ignored)
    }

    public static func parse(_ bytes: [UInt8]) throws(YAMLError) -> JSONValue {
        try parse(String(decoding: bytes, as: UTF8.self))
    }

    /// Splits a stream into documents of lines, at `---` and `...` markers in column 0.
    static func split(_ text: String) -> [[YAMLLine]] {
        var documents: [[YAMLLine]] = []
        var current: [YAMLLine] = []
        var sawContent = false
        var rawLines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if rawLines.count > 1, rawLines.last?.isEmpty == true { rawLines.removeLast() }  // the final line break
        for (n, rawLine) in rawLines.enumerated() {
            var bytes = Array(rawLine)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            let number = n + 1
            if bytes.starts(with: Array("---".utf8)), bytes.count == 3 || bytes[3] == 32 || bytes[3] == 9 {
                if sawContent || !current.isEmpty { documents.append(current) }
                current = []
                sawContent = true
                let rest = Array(bytes.dropFirst(3).drop { $0 == 32 || $0 == 9 })
                if !rest.isEmpty { current.append(YAMLLine(number: number, indent: 0, text: rest[...])) }
                continue
            }
            if bytes.starts(with: Array("...".utf8)), bytes.count == 3 || bytes[3] == 32 {
                documents.append(current)
                current = []
                sawContent = false
                continue
            }
            if bytes.first == UInt8(ascii: "%"), !sawContent, current.allSatisfy(\.isBlank) {
                continue  // a directive (%YAML, %TAG)
            }
            let indent = bytes.prefix { $0 == 32 }.count
            current.append(YAMLLine(number: number, indent: indent, text: bytes[indent...]))
        }
        if !current.isEmpty { documents.append(current) }
        return documents
    }
}

/// One physical line: its number, its indentation in spaces and the rest.
struct YAMLLine: Sendable {
    var number: Int
    var indent: Int
    var text: ArraySlice<UInt8>

    /// Blank or a comment only.
    var isBlank: Bool {
        guard let first = text.first(where: { $0 != 32 && $0 != 9 }) else { return true }
        return first == UInt8(ascii: "#")
    }
}
