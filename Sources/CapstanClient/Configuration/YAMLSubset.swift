import CapstanAPI

/// A failure to read a YAML document, with the 1-based line.
public struct YAMLSubsetError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let message: String

    public var description: String { "line \(line): \(message)" }
}

/// Reads the subset of YAML that kubeconfig files use into ``JSONValue``: block mappings and
/// sequences (including `- key: value` items and sequences at their key's indentation), plain,
/// single- and double-quoted scalars, literal and folded block scalars (`|`, `>`, with chomping),
/// one-line flow collections (`{}`, `[a, b]`, `{k: v}`), comments and `---` markers.
///
/// Anchors, aliases, tags, multi-line flow collections and multi-line quoted or plain scalars
/// are rejected with an error naming the line. Plain scalars follow the YAML 1.2 core schema:
/// `null`/`~`/empty, `true`/`false`, integers and floats become typed values, the rest strings.
enum YAMLSubset {
    static func parse(_ text: String) throws(YAMLSubsetError) -> JSONValue {
        var parser = Parser(text)
        return try parser.document()
    }

    private struct Line {
        var number: Int
        var indent: Int
        var content: Substring
    }

    private struct Parser {
        let raw: [Substring]
        var index = 0
        /// The rest of the current line when a sequence item's content starts on the dash's line.
        var override: Line?

        init(_ text: String) {
            raw = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.last == "\r" ? line.dropLast() : line
            }
        }

        func fail(_ line: Int, _ message: String) -> YAMLSubsetError {
            YAMLSubsetError(line: line, message: message)
        }

        mutating func document() throws(YAMLSubsetError) -> JSONValue {
            guard let first = try peek() else { return .null }
            let value = try node(indent: first.indent)
            if let extra = try peek() {
                throw fail(extra.number, "unexpected content (check the indentation)")
            }
            return value
        }

        /// The next line with content, comments removed; skips blank lines, comments, directives and
        /// document markers.
        mutating func peek() throws(YAMLSubsetError) -> Line? {
            if let override { return override }
            while index < raw.count {
                let text = raw[index]
                var indent = 0
                var rest = text[...]
                while let c = rest.first, c == " " {
                    indent += 1
                    rest = rest.dropFirst()
                }
                if rest.first == "\t" {
                    throw fail(index + 1, "tabs cannot indent YAML")
                }
                let content = Self.stripComment(rest)
                if content.isEmpty || (indent == 0 && (content == "---" || content == "..." || content.hasPrefix("%"))) {
                    index += 1
                    continue
                }
                if indent == 0, content.hasPrefix("--- ") {
                    throw fail(index + 1, "content after a document marker is not supported")
                }
                return Line(number: index + 1, indent: indent, content: content)
            }
            return nil
        }

        mutating func consume() {
            override = nil
            index += 1
        }

        static func stripComment(_ s: Substring) -> Substring {
            var quote: Character?
            var previous: Character = " "
            var end = s.endIndex
            var i = s.startIndex
            while i < s.endIndex {
                let c = s[i]
                if let q = quote {
                    if c == q {
                        quote = nil
                    } else if q == "\"", c == "\\" {
                        // Skip the escaped character.
                        i = s.index(after: i)
                        if i == s.endIndex { break }
                    }
                } else if c == "\"" || c == "'" {
                    if previous == " " || previous == "[" || previous == "{" || previous == "," || previous == ":" || i == s.startIndex {
                        quote = c
                    }
                } else if c == "#", previous == " " || previous == "\t" || i == s.startIndex {
                    end = i
                    break
                }
                previous = c
                i = s.index(after: i)
            }
            var out = s[s.startIndex..<end]
            while let last = out.last, last == " " || last == "\t" { out = out.dropLast() }
            return out
        }

        static func isSequenceItem(_ content: Substring) -> Bool {
            content == "-" || content.hasPrefix("- ")
        }

        // MARK: Block nodes

        mutating func node(indent: Int) throws(YAMLSubsetError) -> JSONValue {
            guard let line = try peek() else { return .null }
            if Self.isSequenceItem(line.content) {
                return try sequence(indent: indent)
            }
            if try Self.splitKey(line.content, line: line.number) != nil {
                return try mapping(indent: indent)
            }
            consume()
            if line.content.first == "|" || line.content.first == ">" {
                return try blockScalar(header: line.content, parentIndent: indent - 1, line: line.number)
            }
            let value = try Self.inline(line.content, line: line.number)
            if let next = try peek(), next.indent > indent {
                throw fail(next.number, "multi-line scalars are not supported")
            }
            return value
        }

        mutating func mapping(indent: Int) throws(YAMLSubsetError) -> JSONValue {
            var object: [String: JSONValue] = [:]
            while let line = try peek(), line.indent == indent, !Self.isSequenceItem(line.content) {
                guard let (key, rest) = try Self.splitKey(line.content, line: line.number) else {
                    throw fail(line.number, "expected \"key: value\"")
                }
                consume()
                let value: JSONValue
                if rest.isEmpty {
                    if let next = try peek(), next.indent > indent {
                        value = try node(indent: next.indent)
                    } else if let next = try peek(), next.indent == indent, Self.isSequenceItem(next.content) {
                        value = try sequence(indent: indent)
                    } else {
                        value = .null
                    }
                } else if rest.first == "|" || rest.first == ">" {
                    value = try blockScalar(header: rest, parentIndent: indent, line: line.number)
                } else {
                    value = try Self.inline(rest, line: line.number)
                    if let next = try peek(), next.indent > indent {
                        throw fail(next.number, "multi-line scalars are not supported")
                    }
                }
                object[key] = value
            }
            if let line = try peek(), line.indent > indent {
                throw fail(line.number, "unexpected indentation")
            }
            return .object(object)
        }

        mutating func sequence(indent: Int) throws(YAMLSubsetError) -> JSONValue {
            var array: [JSONValue] = []
            while let line = try peek(), line.indent == indent, Self.isSequenceItem(line.content) {
                var rest = line.content.dropFirst()
                var column = indent + 1
                while rest.first == " " {
                    rest = rest.dropFirst()
                    column += 1
                }
                if rest.isEmpty {
                    consume()
                    if let next = try peek(), next.indent > indent {
                        array.append(try node(indent: next.indent))
                    } else {
                        array.append(.null)
                    }
                } else {
                    override = Line(number: line.number, indent: column, content: rest)
                    array.append(try node(indent: column))
                }
            }
            if let line = try peek(), line.indent > indent {
                throw fail(line.number, "unexpected indentation")
            }
            return .array(array)
        }

        /// `|`, `|-`, `|+`, `>`, `>-`, `>+` (an indentation digit is accepted): the following lines
        /// indented past `parentIndent`.
        mutating func blockScalar(header: Substring, parentIndent: Int, line: Int) throws(YAMLSubsetError) -> JSONValue {
            let folded = header.first == ">"
            var chomp: Character = " "
            var explicitIndent: Int?
            for c in header.dropFirst() {
                if c == "-" || c == "+" {
                    chomp = c
                } else if let d = c.wholeNumberValue, d > 0 {
                    explicitIndent = parentIndent + d
                } else {
                    throw fail(line, "invalid block scalar header \"\(header)\"")
                }
            }
            var lines: [Substring] = []
            var blockIndent = explicitIndent
            while index < raw.count {
                let text = raw[index]
                let spaces = text.prefix(while: { $0 == " " }).count
                let blank = text.allSatisfy { $0 == " " }
                if blank {
                    lines.append("")
                    index += 1
                    continue
                }
                if blockIndent == nil {
                    guard spaces > max(parentIndent, 0) || (parentIndent < 0 && spaces >= 0) else { break }
                    blockIndent = spaces
                }
                guard let block = blockIndent, spaces >= block else { break }
                lines.append(text.dropFirst(block))
                index += 1
            }
            override = nil
            // Trailing blank lines belong to chomping.
            var trailing = 0
            while let last = lines.last, last.isEmpty {
                lines.removeLast()
                trailing += 1
            }
            var text: String
            if folded {
                text = ""
                var previousBlank = true
                for l in lines {
                    if l.isEmpty {
                        text += "\n"
                        previousBlank = true
                    } else {
                        if !previousBlank, l.first != " " { text += " " } else if !previousBlank { text += "\n" }
                        text += l
                        previousBlank = false
                    }
                }
            } else {
                text = lines.joined(separator: "\n")
            }
            switch chomp {
            case "-": break
            case "+": if !lines.isEmpty { text += String(repeating: "\n", count: trailing + 1) }
            default: if !lines.isEmpty { text += "\n" }
            }
            return .string(text)
        }

        // MARK: Keys and inline values

        /// `key: rest` (rest possibly empty); nil when the content is not a mapping entry.
        static func splitKey(_ content: Substring, line: Int) throws(YAMLSubsetError) -> (String, Substring)? {
            guard let first = content.first, first != "{", first != "[" else { return nil }
            if first == "\"" || first == "'" {
                var cursor = Cursor(content, line: line)
                let key = try cursor.quoted()
                cursor.skipSpaces()
                guard cursor.peek() == ":" else { return nil }
                cursor.advance()
                guard cursor.atEnd || cursor.peek() == " " else { return nil }
                cursor.skipSpaces()
                return (key, cursor.rest)
            }
            var i = content.startIndex
            while i < content.endIndex {
                if content[i] == ":" {
                    let next = content.index(after: i)
                    if next == content.endIndex || content[next] == " " {
                        var key = content[..<i]
                        while key.last == " " { key = key.dropLast() }
                        var rest = content[next...]
                        while rest.first == " " { rest = rest.dropFirst() }
                        return (String(key), rest)
                    }
                }
                i = content.index(after: i)
            }
            return nil
        }

        static func inline(_ text: Substring, line: Int) throws(YAMLSubsetError) -> JSONValue {
            guard let first = text.first else { return .null }
            switch first {
            case "&", "*", "!":
                throw YAMLSubsetError(line: line, message: "anchors, aliases and tags are not supported")
            case "\"", "'", "{", "[":
                var cursor = Cursor(text, line: line)
                let value = try cursor.flowValue()
                cursor.skipSpaces()
                guard cursor.atEnd else {
                    throw YAMLSubsetError(line: line, message: "unexpected \"\(cursor.rest)\" after a value")
                }
                return value
            default:
                return plain(text)
            }
        }

        /// A plain scalar, typed by the YAML 1.2 core schema.
        static func plain(_ text: Substring) -> JSONValue {
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : text
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(text) {
                return .int(n)
            }
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
               text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
               text.contains(where: { $0.isNumber }), let d = Double(text) {
                return .double(d)
            }
            return .string(String(text))
        }
    }

    /// Reads one-line flow values and quoted scalars.
    private struct Cursor {
        var text: Substring
        let line: Int

        init(_ text: Substring, line: Int) {
            self.text = text
            self.line = line
        }

        var atEnd: Bool { text.isEmpty }
        var rest: Substring { text }
        func peek() -> Character? { text.first }
        mutating func advance() { text = text.dropFirst() }
        mutating func skipSpaces() { while text.first == " " { text = text.dropFirst() } }

        func fail(_ message: String) -> YAMLSubsetError { YAMLSubsetError(line: line, message: message) }

        mutating func flowValue() throws(YAMLSubsetError) -> JSONValue {
            skipSpaces()
            switch peek() {
            case "{": return try flowMapping()
            case "[": return try flowSequence()
            case "\"", "'": return .string(try quoted())
            case nil: return .null
            default:
                return Parser.plain(flowPlain(stopAtColon: false))
            }
        }

        mutating func flowPlain(stopAtColon: Bool) -> Substring {
            var end = text.startIndex
            var i = text.startIndex
            while i < text.endIndex {
                let c = text[i]
                if c == "," || c == "]" || c == "}" { break }
                if stopAtColon, c == ":" {
                    let next = text.index(after: i)
                    if next == text.endIndex || text[next] == " " || text[next] == "," || text[next] == "}" { break }
                }
                i = text.index(after: i)
                if c != " " { end = i }
            }
            let value = text[text.startIndex..<end]
            text = text[i...]
            return value
        }

        mutating func flowMapping() throws(YAMLSubsetError) -> JSONValue {
            advance()
            var object: [String: JSONValue] = [:]
            skipSpaces()
            if peek() == "}" {
                advance()
                return .object(object)
            }
            while true {
                skipSpaces()
                let key: String
                if peek() == "\"" || peek() == "'" {
                    key = try quoted()
                } else {
                    key = String(flowPlain(stopAtColon: true))
                }
                skipSpaces()
                if peek() == ":" {
                    advance()
                    skipSpaces()
                    if peek() == "," || peek() == "}" {
                        object[key] = .null
                    } else {
                        object[key] = try flowValue()
                    }
                } else {
                    object[key] = .null
                }
                skipSpaces()
                switch peek() {
                case ",": advance()
                case "}":
                    advance()
                    return .object(object)
                default:
                    throw fail("expected \",\" or \"}\" in a flow mapping (multi-line flow collections are not supported)")
                }
            }
        }

        mutating func flowSequence() throws(YAMLSubsetError) -> JSONValue {
            advance()
            var array: [JSONValue] = []
            skipSpaces()
            if peek() == "]" {
                advance()
                return .array(array)
            }
            while true {
                array.append(try flowValue())
                skipSpaces()
                switch peek() {
                case ",": advance()
                case "]":
                    advance()
                    return .array(array)
                default:
                    throw fail("expected \",\" or \"]\" in a flow sequence (multi-line flow collections are not supported)")
                }
            }
        }

        mutating func quoted() throws(YAMLSubsetError) -> String {
            guard let q = peek() else { throw fail("expected a quoted string") }
            advance()
            var out = ""
            while let c = peek() {
                advance()
                if c == q {
                    if q == "'", peek() == "'" {
                        advance()
                        out.append("'")
                        continue
                    }
                    return out
                }
                if q == "\"", c == "\\" {
                    guard let e = peek() else { break }
                    advance()
                    switch e {
                    case "0": out.append("\0")
                    case "a": out.append("\u{07}")
                    case "b": out.append("\u{08}")
                    case "t", "\t": out.append("\t")
                    case "n": out.append("\n")
                    case "v": out.append("\u{0B}")
                    case "f": out.append("\u{0C}")
                    case "r": out.append("\r")
                    case "e": out.append("\u{1B}")
                    case " ": out.append(" ")
                    case "\"": out.append("\"")
                    case "/": out.append("/")
                    case "\\": out.append("\\")
                    case "N": out.append("\u{85}")
                    case "_": out.append("\u{A0}")
                    case "L": out.append("\u{2028}")
                    case "P": out.append("\u{2029}")
                    case "x": out.unicodeScalars.append(try hexScalar(2))
                    case "u": out.unicodeScalars.append(try hexScalar(4))
                    case "U": out.unicodeScalars.append(try hexScalar(8))
                    default: throw fail("invalid escape \"\\\(e)\"")
                    }
                    continue
                }
                out.append(c)
            }
            throw fail("unterminated quoted string (multi-line quoted strings are not supported)")
        }

        mutating func hexScalar(_ count: Int) throws(YAMLSubsetError) -> Unicode.Scalar {
            let digits = text.prefix(count)
            guard digits.count == count, let value = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(value) else {
                throw fail("invalid escape \"\(digits)\"")
            }
            text = text.dropFirst(count)
            return scalar
        }
    }
}
