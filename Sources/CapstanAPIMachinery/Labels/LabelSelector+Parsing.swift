/// Parsing of the string form, token by token as Kubernetes' `labels.Parse`, with its error messages.
extension LabelSelector {
    /// Parses `app=web,tier!=db,env in (a,b),env notin (c),has,!missing,x>5`; an empty string matches everything.
    public init(parsing text: String) throws(SelectorError) {
        var parser = LabelSelectorParser(tokens: LabelSelectorLexer.tokens(of: text))
        let reqs = try parser.parse()
        self.init(requirements: reqs)
    }
}

enum LabelToken: Equatable {
    case error, end, closePar, comma, doesNotExist, doubleEquals, equals, greaterThan, identifier, `in`, lessThan, notEquals, notIn, openPar
}

struct ScannedToken {
    var token: LabelToken
    var literal: String
}

/// The lexer: whitespace is space, tab, CR and LF; `=!(),><` are special; everything else builds identifiers.
/// A NUL byte reads as the end of input, as in Kubernetes.
enum LabelSelectorLexer {
    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

    static func isSpecial(_ b: UInt8) -> Bool {
        switch b {
        case 0x3D, 0x21, 0x28, 0x29, 0x2C, 0x3E, 0x3C: return true
        default: return false
        }
    }

    static func keyword(_ s: String) -> LabelToken? {
        switch s {
        case ")": return .closePar
        case ",": return .comma
        case "!": return .doesNotExist
        case "==": return .doubleEquals
        case "=": return .equals
        case ">": return .greaterThan
        case "in": return .in
        case "<": return .lessThan
        case "!=": return .notEquals
        case "notin": return .notIn
        case "(": return .openPar
        default: return nil
        }
    }

    static func tokens(of text: String) -> [ScannedToken] {
        let bytes = Array(text.utf8)
        var pos = 0
        func read() -> UInt8 {
            guard pos < bytes.count else { pos += 1; return 0 }
            let b = bytes[pos]
            pos += 1
            return b
        }
        var out: [ScannedToken] = []
        while true {
            var ch = read()
            while isWhitespace(ch) { ch = read() }
            if ch == 0 {
                out.append(ScannedToken(token: .end, literal: ""))
                return out
            }
            pos -= 1
            if isSpecial(ch) {
                var buffer: [UInt8] = []
                var last: ScannedToken?
                while true {
                    let c = read()
                    if c == 0 { break }
                    if isSpecial(c) {
                        buffer.append(c)
                        let s = String(decoding: buffer, as: UTF8.self)
                        if let t = keyword(s) {
                            last = ScannedToken(token: t, literal: s)
                        } else if last != nil {
                            pos -= 1
                            break
                        }
                    } else {
                        pos -= 1
                        break
                    }
                }
                out.append(last ?? ScannedToken(token: .error, literal: "error expected: keyword found '\(String(decoding: buffer, as: UTF8.self))'"))
            } else {
                let start = pos
                var end = pos
                while true {
                    let c = read()
                    if c == 0 { end = pos - 1; break }
                    if isSpecial(c) || isWhitespace(c) { pos -= 1; end = pos; break }
                }
                let s = String(decoding: bytes[start..<min(end, bytes.count)], as: UTF8.self)
                let t = keyword(s) ?? .identifier
                out.append(ScannedToken(token: t, literal: s))
            }
        }
    }
}

/// The recursive-descent parser; `in`/`notin` read as identifiers where a value is expected.
struct LabelSelectorParser {
    let tokens: [ScannedToken]
    var position = 0

    init(tokens: [ScannedToken]) { self.tokens = tokens }

    private func lookahead(values: Bool) -> (LabelToken, String) {
        let item = tokens[min(position, tokens.count - 1)]
        return (values ? Self.asValue(item.token) : item.token, item.literal)
    }

    private mutating func consume(values: Bool) -> (LabelToken, String) {
        let item = tokens[min(position, tokens.count - 1)]
        position += 1
        return (values ? Self.asValue(item.token) : item.token, item.literal)
    }

    private static func asValue(_ t: LabelToken) -> LabelToken {
        t == .in || t == .notIn ? .identifier : t
    }

    mutating func parse() throws(SelectorError) -> [LabelRequirement] {
        var reqs: [LabelRequirement] = []
        while true {
            let (tok, lit) = lookahead(values: true)
            switch tok {
            case .identifier, .doesNotExist:
                do {
                    reqs.append(try parseRequirement())
                } catch {
                    throw SelectorError("unable to parse requirement: \(error.message)")
                }
                let (t, l) = consume(values: true)
                switch t {
                case .end:
                    return reqs
                case .comma:
                    let (t2, l2) = lookahead(values: true)
                    if t2 != .identifier && t2 != .doesNotExist {
                        throw SelectorError("found '\(l2)', expected: identifier after ','")
                    }
                default:
                    throw SelectorError("found '\(l)', expected: ',' or 'end of string'")
                }
            case .end:
                return reqs
            default:
                throw SelectorError("found '\(lit)', expected: !, identifier, or 'end of string'")
            }
        }
    }

    private mutating func parseRequirement() throws(SelectorError) -> LabelRequirement {
        let (key, inferred) = try parseKeyAndInferOperator()
        if let inferred {
            return try Self.make(key, inferred, [])
        }
        let op = try parseOperator()
        let values: [String]
        switch op {
        case .in, .notIn: values = try parseValues()
        default: values = try parseExactValue()
        }
        return try Self.make(key, op, values.sorted(by: GoFormat.byteOrder))
    }

    private static func make(_ key: String, _ op: LabelRequirement.Operator, _ values: [String]) throws(SelectorError) -> LabelRequirement {
        if let message = LabelRequirement.validate(key: key, operator: op, values: values, valuesFromList: false) {
            throw SelectorError(message)
        }
        return LabelRequirement(unchecked: key, op, values)
    }

    /// The key, and `exists`/`!` when no binary operator follows.
    private mutating func parseKeyAndInferOperator() throws(SelectorError) -> (String, LabelRequirement.Operator?) {
        var op: LabelRequirement.Operator?
        var (tok, literal) = consume(values: true)
        if tok == .doesNotExist {
            op = .doesNotExist
            (tok, literal) = consume(values: true)
        }
        guard tok == .identifier else { throw SelectorError("found '\(literal)', expected: identifier") }
        let errs = NameValidation.qualifiedName(literal)
        if !errs.isEmpty {
            throw SelectorError("<nil>: Invalid value: \(GoFormat.quote(literal)): " + errs.joined(separator: "; "))
        }
        let (next, _) = lookahead(values: true)
        if next == .end || next == .comma {
            if op == nil { op = .exists }
        }
        return (literal, op)
    }

    private mutating func parseOperator() throws(SelectorError) -> LabelRequirement.Operator {
        let (tok, lit) = consume(values: false)
        switch tok {
        case .in: return .in
        case .equals: return .equals
        case .doubleEquals: return .doubleEquals
        case .greaterThan: return .greaterThan
        case .lessThan: return .lessThan
        case .notIn: return .notIn
        case .notEquals: return .notEquals
        default:
            throw SelectorError("found '\(lit)', expected: " + LabelRequirement.Operator.binary.map(\.rawValue).joined(separator: ", "))
        }
    }

    private mutating func parseValues() throws(SelectorError) -> [String] {
        let (tok, lit) = consume(values: true)
        guard tok == .openPar else { throw SelectorError("found '\(lit)' expected: '('") }
        let (t, l) = lookahead(values: true)
        switch t {
        case .identifier, .comma:
            let s = try parseIdentifiersList()
            let (close, _) = consume(values: true)
            guard close == .closePar else { throw SelectorError("found '\(l)', expected: ')'") }
            return Array(s)
        case .closePar:
            _ = consume(values: true)
            return [""]
        default:
            throw SelectorError("found '\(l)', expected: ',', ')' or identifier")
        }
    }

    private mutating func parseIdentifiersList() throws(SelectorError) -> Set<String> {
        var s = Set<String>()
        while true {
            let (tok, lit) = consume(values: true)
            switch tok {
            case .identifier:
                s.insert(lit)
                let (t2, l2) = lookahead(values: true)
                switch t2 {
                case .comma: continue
                case .closePar: return s
                default: throw SelectorError("found '\(l2)', expected: ',' or ')'")
                }
            case .comma:
                if s.isEmpty { s.insert("") }
                let (t2, _) = lookahead(values: true)
                if t2 == .closePar {
                    s.insert("")
                    return s
                }
                if t2 == .comma {
                    _ = consume(values: true)
                    s.insert("")
                }
            default:
                throw SelectorError("found '\(lit)', expected: ',', or identifier")
            }
        }
    }

    private mutating func parseExactValue() throws(SelectorError) -> [String] {
        let (t, _) = lookahead(values: true)
        if t == .end || t == .comma { return [""] }
        let (tok, lit) = consume(values: true)
        if tok == .identifier { return [lit] }
        throw SelectorError("found '\(lit)', expected: identifier")
    }
}
