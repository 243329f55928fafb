import CapstanAPI

/// The block structure of one document: a recursive descent over lines by indentation. Inline
/// values (flow collections, quoted and plain scalars, possibly continued on more-indented lines)
/// are handed to ``YAMLFlowParser``.
struct YAMLParser {
    var lines: [YAMLLine]
    var index = 0
    var depth = 0
    var duplicates: [String] = []

    init(lines: [YAMLLine]) { self.lines = lines }

    static let space: UInt8 = 32, tab: UInt8 = 9, hash = UInt8(ascii: "#"), colon = UInt8(ascii: ":")
    static let dash = UInt8(ascii: "-"), dquote = UInt8(ascii: "\""), squote = UInt8(ascii: "'")

    func fail(_ line: Int, _ message: String) -> YAMLError { YAMLError(line: line, message: message) }

    /// The document's value, or nil when it holds nothing but comments.
    mutating func document() throws(YAMLError) -> JSONValue? {
        guard let first = nextContent() else { return nil }
        let value = try block(indent: lines[first].indent, parent: -1, path: "")
        if let extra = nextContent() {
            throw fail(lines[extra].number, "did not find expected key or '-' (check the indentation)")
        }
        return value
    }

    /// Moves past blank and comment lines; the index of the next line with content.
    mutating func nextContent() -> Int? {
        while index < lines.count, lines[index].isBlank { index += 1 }
        return index < lines.count ? index : nil
    }

    /// A node made of lines indented more than `parent`, or null when there is none.
    mutating func node(parent: Int, path: String) throws(YAMLError) -> JSONValue {
        guard let i = nextContent(), lines[i].indent > parent else { return .null }
        return try block(indent: lines[i].indent, parent: parent, path: path)
    }

    /// The node whose first line is the current one, at `indent`.
    mutating func block(indent: Int, parent: Int, path: String) throws(YAMLError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        let line = lines[index]
        if depth > YAML.maximumDepth { throw fail(line.number, "nesting deeper than \(YAML.maximumDepth) levels") }
        if line.text.first == Self.tab { throw fail(line.number, "found a tab character that violates indentation") }
        let content = Self.stripComment(line.text)
        if Self.isSequenceEntry(content) { return try sequence(indent: indent, path: path) }
        if content.first == UInt8(ascii: "?") { throw fail(line.number, "complex mapping keys (?) are not supported") }
        if Self.mappingColon(content) != nil { return try mapping(indent: indent, path: path) }
        index += 1
        return try inline(content, line: line.number, parent: parent)
    }

    static func isSequenceEntry(_ content: ArraySlice<UInt8>) -> Bool {
        guard content.first == dash else { return false }
        let next = content.dropFirst().first
        return next == nil || next == space || next == tab
    }

    mutating func sequence(indent: Int, path: String) throws(YAMLError) -> JSONValue {
        var items: [JSONValue] = []
        while let i = nextContent(), lines[i].indent == indent {
            let line = lines[i]
            guard Self.isSequenceEntry(Self.stripComment(line.text)) else {
                throw fail(line.number, "expected a sequence entry ('- ') at this indentation")
            }
            let itemPath = "\(path)[\(items.count)]"
            let afterDash = line.text.dropFirst()
            let rest = afterDash.drop { $0 == Self.space || $0 == Self.tab }
            if Self.stripComment(rest).isEmpty {
                index = i + 1
                items.append(try node(parent: indent, path: itemPath))
            } else {
                // The item starts on the dash's line: read that rest as a line of its own.
                let column = indent + (line.text.count - rest.count)
                lines[i] = YAMLLine(number: line.number, indent: column, text: rest)
                items.append(try block(indent: column, parent: indent, path: itemPath))
            }
        }
        try checkNoDeeperLine(than: indent)
        return .array(items)
    }

    mutating func mapping(indent: Int, path: String) throws(YAMLError) -> JSONValue {
        var object: [String: JSONValue] = [:]
        while let i = nextContent(), lines[i].indent == indent {
            let line = lines[i]
            if line.text.first == Self.tab { throw fail(line.number, "found a tab character that violates indentation") }
            let content = Self.stripComment(line.text)
            if Self.isSequenceEntry(content) { break }
            guard let colon = Self.mappingColon(content) else {
                throw fail(line.number, "could not find expected ':'")
            }
            let key = try mappingKey(content[content.startIndex..<colon], line: line.number)
            let childPath = path.isEmpty ? key : path + "." + key
            let rest = content[(colon + 1)...].drop { $0 == Self.space || $0 == Self.tab }
            index = i + 1
            let value: JSONValue
            if rest.isEmpty {
                if let j = nextContent(), lines[j].indent == indent, Self.isSequenceEntry(Self.stripComment(lines[j].text)) {
                    value = try sequence(indent: indent, path: childPath)
                } else {
                    value = try node(parent: indent, path: childPath)
                }
            } else if rest.first == UInt8(ascii: "|") || rest.first == UInt8(ascii: ">") {
                value = try blockScalar(header: rest, line: line.number, parent: indent)
            } else {
                value = try inline(rest, line: line.number, parent: indent)
            }
            if object.updateValue(value, forKey: key) != nil { duplicates.append(childPath) }
        }
        try checkNoDeeperLine(than: indent)
        return .object(object)
    }

    /// A line indented deeper than the collection just read belongs to nothing.
    mutating func checkNoDeeperLine(than indent: Int) throws(YAMLError) {
        if let i = nextContent(), lines[i].indent > indent {
            throw fail(lines[i].number, "mapping values are not allowed in this context (check the indentation)")
        }
    }

    func mappingKey(_ raw: ArraySlice<UInt8>, line: Int) throws(YAMLError) -> String {
        var text = raw
        while let l = text.last, l == Self.space || l == Self.tab { text = text.dropLast() }
        if text.first == Self.dquote || text.first == Self.squote {
            var flow = YAMLFlowParser(Array(text), line: line)
            let value = try flow.parseQuoted()
            flow.skipSpace()
            guard flow.atEnd else { throw fail(line, "unexpected text after a quoted key") }
            return value
        }
        if text.first == UInt8(ascii: "*") || text.first == UInt8(ascii: "&") {
            throw fail(line, "anchors and aliases are not supported")
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The index of the `:` ending a block mapping key on this line, if the line is a key.
    static func mappingColon(_ content: ArraySlice<UInt8>) -> Int? {
        guard let first = content.first else { return nil }
        if first == UInt8(ascii: "[") || first == UInt8(ascii: "{") { return nil }
        var i = content.startIndex
        if first == dquote || first == squote {
            // Skip the quoted key.
            i += 1
            while i < content.endIndex {
                if content[i] == UInt8(ascii: "\\"), first == dquote { i += 2; continue }
                if content[i] == first {
                    if first == squote, i + 1 < content.endIndex, content[i + 1] == squote { i += 2; continue }
                    break
                }
                i += 1
            }
            i += 1
            while i < content.endIndex, content[i] == space || content[i] == tab { i += 1 }
            guard i < content.endIndex, content[i] == colon else { return nil }
            let after = i + 1
            return after == content.endIndex || content[after] == space || content[after] == tab ? i : nil
        }
        while i < content.endIndex {
            if content[i] == colon {
                let after = i + 1
                if after == content.endIndex || content[after] == space || content[after] == tab { return i }
            }
            i += 1
        }
        return nil
    }

    /// The line without a trailing comment (a `#` at the start or after a space, outside quotes),
    /// and without trailing spaces.
    static func stripComment(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var quote: UInt8? = nil
        var end = text.endIndex
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if let q = quote {
                if c == UInt8(ascii: "\\"), q == dquote { i += 2; continue }
                if c == q { quote = nil }
            } else if c == hash, i == text.startIndex || text[i - 1] == space || text[i - 1] == tab {
                end = i
                break
            } else if c == dquote || c == squote {
                // A quote opens a quoted scalar only at the start of a token.
                let prev = i == text.startIndex ? space : text[i - 1]
                if [space, tab, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), colon, dash].contains(prev) {
                    quote = c
                }
            }
            i += 1
        }
        var out = text[text.startIndex..<end]
        while let l = out.last, l == space || l == tab { out = out.dropLast() }
        return out
    }

    /// An inline value (flow collection or scalar) starting with `first`, continued on the
    /// following lines indented more than `parent`.
    mutating func inline(_ first: ArraySlice<UInt8>, line: Int, parent: Int) throws(YAMLError) -> JSONValue {
        var continuation: [ArraySlice<UInt8>] = []
        while index < lines.count, lines[index].isBlank || lines[index].indent > parent {
            let l = lines[index]
            continuation.append(l.isBlank ? [] : l.text)
            index += 1
        }
        while continuation.last?.isEmpty == true { continuation.removeLast() }
        var text = Array(first)
        if first.first == Self.dquote || first.first == Self.squote || first.first == UInt8(ascii: "[")
            || first.first == UInt8(ascii: "{") || first.first == UInt8(ascii: "!") {
            for c in continuation {
                text.append(10)
                text += Self.stripComment(c)
            }
            var flow = YAMLFlowParser(text, line: line)
            let value = try flow.parseValue(depth: depth)
            flow.skipSpace()
            guard flow.atEnd else { throw fail(flow.line, "unexpected text after the value") }
            return value
        }
        if first.first == UInt8(ascii: "*") || first.first == UInt8(ascii: "&") {
            throw fail(line, "anchors and aliases are not supported")
        }
        if first.first == UInt8(ascii: "@") || first.first == UInt8(ascii: "`") {
            throw fail(line, "found character that cannot start any token")
        }
        // A plain scalar: lines fold into spaces, empty lines into newlines.
        var blank = 0
        for c in continuation {
            let stripped = Self.stripComment(c)
            if stripped.isEmpty {
                blank += 1
                continue
            }
            if Self.mappingColon(stripped) != nil {
                throw fail(line, "mapping values are not allowed in this context")
            }
            text += blank == 0 ? [Self.space] : Array(repeating: 10, count: blank)
            text += stripped
            blank = 0
        }
        return YAMLFlowParser.resolvePlain(String(decoding: text, as: UTF8.self), multiLine: !continuation.isEmpty)
    }

    /// A literal (`|`) or folded (`>`) block scalar whose lines are indented more than `parent`.
    mutating func blockScalar(header: ArraySlice<UInt8>, line: Int, parent: Int) throws(YAMLError) -> JSONValue {
        let literal = header.first == UInt8(ascii: "|")
        var chomp: UInt8? = nil
        var explicitIndent: Int? = nil
        for c in Self.stripComment(header).dropFirst() {
            if c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                guard chomp == nil else { throw fail(line, "repeated chomping indicator") }
                chomp = c
            } else if c >= UInt8(ascii: "1"), c <= UInt8(ascii: "9") {
                guard explicitIndent == nil else { throw fail(line, "repeated indentation indicator") }
                explicitIndent = Int(c - UInt8(ascii: "0"))
            } else if c == Self.space || c == Self.tab {
                continue
            } else {
                throw fail(line, "did not find expected comment or line break after a block scalar indicator")
            }
        }
        // Content lines: blank, or indented more than the parent.
        var raw: [YAMLLine] = []
        while index < lines.count {
            let l = lines[index]
            let blank = l.text.allSatisfy { $0 == Self.space || $0 == Self.tab }
            guard blank || l.indent > parent else { break }
            raw.append(l)
            index += 1
        }
        let contentIndent: Int
        if let explicitIndent {
            contentIndent = max(parent, 0) + explicitIndent
        } else {
            contentIndent = raw.first { !$0.text.allSatisfy { $0 == Self.space || $0 == Self.tab } }?.indent ?? (parent + 1)
        }
        var contentLines: [String] = []
        for l in raw {
            if l.text.allSatisfy({ $0 == Self.space || $0 == Self.tab }) {
                let extra = l.indent + l.text.count - contentIndent
                contentLines.append(extra > 0 ? String(repeating: " ", count: extra) : "")
                continue
            }
            guard l.indent >= contentIndent else {
                throw fail(l.number, "block scalar line is less indented than its first line")
            }
            contentLines.append(String(repeating: " ", count: l.indent - contentIndent) + String(decoding: l.text, as: UTF8.self))
        }
        var trailing = 0
        while let last = contentLines.last, last.allSatisfy({ $0 == " " }) {
            contentLines.removeLast()
            trailing += 1
        }
        var out = ""
        if literal {
            out = contentLines.joined(separator: "\n")
        } else {
            var pending = 0
            var first = true
            var previousMore = false
            for l in contentLines {
                if l.isEmpty {
                    pending += 1
                    continue
                }
                let more = l.first == " " || l.first == "\t"
                if first {
                    out += String(repeating: "\n", count: pending)
                } else if pending == 0 {
                    out += more || previousMore ? "\n" : " "
                } else {
                    out += String(repeating: "\n", count: pending + (more || previousMore ? 1 : 0))
                }
                out += l
                first = false
                previousMore = more
                pending = 0
            }
        }
        if contentLines.isEmpty {
            return .string(chomp == UInt8(ascii: "+") ? String(repeating: "\n", count: trailing) : "")
        }
        switch chomp {
        case UInt8(ascii: "-"): break
        case UInt8(ascii: "+"): out += String(repeating: "\n", count: trailing + 1)
        default: out += "\n"
        }
        return .string(out)
    }
}
