/// One condition of a label selector: a key, an operator and values (`env in (a,b)`, `!tier`, `x>5`).
public struct LabelRequirement: Sendable, Hashable, CustomStringConvertible {
    /// A selector operator, spelled as Kubernetes' `selection.Operator`.
    public struct Operator: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// `k in (a,b)`, `k=v`-like: the label exists with one of the values; likewise `notin`, `=`, `==`, `!=`, `exists`, `!`, `gt`, `lt`.
        public static let `in` = Operator(rawValue: "in")
        public static let notIn = Operator(rawValue: "notin")
        public static let equals = Operator(rawValue: "=")
        public static let doubleEquals = Operator(rawValue: "==")
        public static let notEquals = Operator(rawValue: "!=")
        public static let exists = Operator(rawValue: "exists")
        public static let doesNotExist = Operator(rawValue: "!")
        public static let greaterThan = Operator(rawValue: "gt")
        public static let lessThan = Operator(rawValue: "lt")

        /// Every operator, in the order Kubernetes lists them in messages.
        public static let all: [Operator] = [.in, .notIn, .equals, .doubleEquals, .notEquals, .greaterThan, .lessThan, .exists, .doesNotExist]
        static let binary: [Operator] = [.in, .notIn, .equals, .doubleEquals, .notEquals, .greaterThan, .lessThan]
    }

    /// How a requirement decides, resolved once so matching does no string comparison of operators.
    enum Test: Sendable, Hashable {
        case oneOf, noneOf, exists, doesNotExist, greaterThan(Int64?), lessThan(Int64?), never
    }

    /// The label key.
    public let key: String
    /// How the label's value is tested.
    public let `operator`: Operator
    /// The values as given (order kept; `description` prints them sorted).
    public let values: [String]
    let test: Test
    /// For long value lists, a set for constant-time membership.
    let valueSet: Set<String>?

    /// A requirement checked as Kubernetes' `NewRequirement`: the key must be a qualified name, every
    /// value a label value; `in`/`notin` need values, `=`/`==`/`!=` exactly one, `exists`/`!` none,
    /// `gt`/`lt` one integer.
    public init(key: String, operator op: Operator, values: [String]) throws(SelectorError) {
        if let message = Self.validate(key: key, operator: op, values: values, valuesFromList: false) {
            throw SelectorError(message)
        }
        self.init(unchecked: key, op, values)
    }

    init(unchecked key: String, _ op: Operator, _ values: [String]) {
        self.key = key
        self.operator = op
        self.values = values
        switch op {
        case .in, .equals, .doubleEquals: test = .oneOf
        case .notIn, .notEquals: test = .noneOf
        case .exists: test = .exists
        case .doesNotExist: test = .doesNotExist
        case .greaterThan, .lessThan:
            var bound: Int64?
            if values.count == 1, case .success(let v) = GoFormat.parseInt64(values[0]) { bound = v }
            test = op == .greaterThan ? .greaterThan(bound) : .lessThan(bound)
        default: test = .never
        }
        valueSet = values.count > 8 ? Set(values) : nil
    }

    /// `NewRequirement`'s checks; nil when valid, else the aggregated message (`key: Invalid value: …`).
    /// `valuesFromList` tells whether the values arrived as a JSON list (rendered `null` when empty).
    static func validate(key: String, operator op: Operator, values: [String], valuesFromList: Bool, keyPath: String = "key") -> String? {
        var messages: [String] = []
        let keyErrors = NameValidation.qualifiedName(key)
        if !keyErrors.isEmpty {
            messages.append("\(keyPath): Invalid value: \(GoFormat.quote(key)): " + keyErrors.joined(separator: "; "))
        }
        let rendered = values.isEmpty && valuesFromList ? "null" : GoFormat.json(values)
        switch op {
        case .in, .notIn:
            if values.isEmpty { messages.append("values: Invalid value: \(rendered): for 'in', 'notin' operators, values set can't be empty") }
        case .equals, .doubleEquals, .notEquals:
            if values.count != 1 { messages.append("values: Invalid value: \(rendered): exact-match compatibility requires one single value") }
        case .exists, .doesNotExist:
            if !values.isEmpty { messages.append("values: Invalid value: \(rendered): values set must be empty for exists and does not exist") }
        case .greaterThan, .lessThan:
            if values.count != 1 { messages.append("values: Invalid value: \(rendered): for 'Gt', 'Lt' operators, exactly one value is required") }
            for (i, v) in values.enumerated() {
                if case .failure = GoFormat.parseInt64(v) {
                    messages.append("values[\(i)]: Invalid value: \(GoFormat.quote(v)): for 'Gt', 'Lt' operators, the value must be an integer")
                }
            }
        default:
            messages.append("operator: Unsupported value: \(GoFormat.quote(op.rawValue)): supported values: "
                            + Operator.all.map { GoFormat.quote($0.rawValue) }.joined(separator: ", "))
        }
        for (i, v) in values.enumerated() {
            let errs = NameValidation.labelValue(v)
            if !errs.isEmpty {
                messages.append("values[\(i)][\(key)]: Invalid value: \(GoFormat.quote(v)): " + errs.joined(separator: "; "))
            }
        }
        return FieldError.aggregate(messages: messages)
    }

    /// True when `value` (nil: the label is absent) satisfies this requirement.
    @inline(__always)
    public func matches(value: String?) -> Bool {
        switch test {
        case .oneOf:
            guard let value else { return false }
            return contains(value)
        case .noneOf:
            guard let value else { return true }
            return !contains(value)
        case .exists:
            return value != nil
        case .doesNotExist:
            return value == nil
        case .greaterThan(let bound):
            guard let value, let bound, case .success(let v) = GoFormat.parseInt64(value) else { return false }
            return v > bound
        case .lessThan(let bound):
            guard let value, let bound, case .success(let v) = GoFormat.parseInt64(value) else { return false }
            return v < bound
        case .never:
            return false
        }
    }

    @inline(__always)
    private func contains(_ value: String) -> Bool {
        if let valueSet { return valueSet.contains(value) }
        for v in values where v == value { return true }
        return false
    }

    /// The canonical form Kubernetes prints: `!k`, `k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k>5`, `k<5`.
    public var description: String {
        switch self.operator {
        case .doesNotExist: return "!" + key
        case .exists: return key
        default: break
        }
        let sortedValues = values.count == 1 ? values : values.sorted(by: GoFormat.byteOrder)
        let joined = sortedValues.joined(separator: ",")
        switch self.operator {
        case .equals: return key + "=" + joined
        case .doubleEquals: return key + "==" + joined
        case .notEquals: return key + "!=" + joined
        case .in: return key + " in (" + joined + ")"
        case .notIn: return key + " notin (" + joined + ")"
        case .greaterThan: return key + ">" + joined
        case .lessThan: return key + "<" + joined
        default: return key + joined
        }
    }

    public static func == (a: LabelRequirement, b: LabelRequirement) -> Bool {
        a.key == b.key && a.operator == b.operator && a.values == b.values
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(self.operator)
        hasher.combine(values)
    }
}
