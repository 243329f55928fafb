import CapstanAPI

/// `metav1.LabelSelector` (matchLabels + matchExpressions) to a selector, as `LabelSelectorAsSelector`.
extension LabelSelector {
    /// nil matches nothing; an empty selector matches everything; otherwise every matchLabels entry is
    /// `key=value` and every expression `In`/`NotIn`/`Exists`/`DoesNotExist`, checked as Kubernetes does.
    public init(_ selector: MetaV1.LabelSelector?) throws(SelectorError) {
        guard let selector else {
            self = .nothing
            return
        }
        let labels = selector.matchLabels ?? [:]
        let expressions = selector.matchExpressions ?? []
        if labels.isEmpty && expressions.isEmpty {
            self = .everything
            return
        }
        var reqs: [LabelRequirement] = []
        reqs.reserveCapacity(labels.count + expressions.count)
        for key in labels.keys.sorted(by: GoFormat.byteOrder) {
            let value = labels[key] ?? ""
            if let message = LabelRequirement.validate(key: key, operator: .equals, values: [value], valuesFromList: true) {
                throw SelectorError(message)
            }
            reqs.append(LabelRequirement(unchecked: key, .equals, [value]))
        }
        for expr in expressions {
            let op: LabelRequirement.Operator
            switch expr.operator {
            case "In": op = .in
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            case "DoesNotExist": op = .doesNotExist
            default: throw SelectorError("\(GoFormat.quote(expr.operator)) is not a valid label selector operator")
            }
            let values = expr.values ?? []
            if let message = LabelRequirement.validate(key: expr.key, operator: op, values: values, valuesFromList: true) {
                throw SelectorError(message)
            }
            reqs.append(LabelRequirement(unchecked: expr.key, op, values))
        }
        self.init(requirements: reqs)
    }

    /// The same from the JSON form of a `metav1.LabelSelector`; JSON null or nil matches nothing.
    public init(json: JSONValue?) throws(SelectorError) {
        try self.init(Self.typed(json))
    }

    /// Reads a `metav1.LabelSelector` JSON value into the generated type, rejecting wrong shapes.
    static func typed(_ json: JSONValue?) throws(SelectorError) -> MetaV1.LabelSelector? {
        guard let json, json != .null else { return nil }
        guard case .object(let o) = json else { throw SelectorError("label selector must be an object") }
        var selector = MetaV1.LabelSelector()
        switch o["matchLabels"] {
        case nil, .null?: break
        case .object(let m)?:
            var labels: [String: String] = [:]
            for (k, v) in m {
                guard case .string(let s) = v else { throw SelectorError("matchLabels[\(k)] must be a string") }
                labels[k] = s
            }
            selector.matchLabels = labels
        default: throw SelectorError("matchLabels must be an object")
        }
        switch o["matchExpressions"] {
        case nil, .null?: break
        case .array(let a)?:
            var exprs: [MetaV1.LabelSelectorRequirement] = []
            for (i, e) in a.enumerated() {
                guard case .string(let key)? = e["key"], case .string(let op)? = e["operator"] else {
                    throw SelectorError("matchExpressions[\(i)] needs string key and operator")
                }
                var values: [String]?
                switch e["values"] {
                case nil, .null?: break
                case .array(let vs)?:
                    values = []
                    for v in vs {
                        guard case .string(let s) = v else { throw SelectorError("matchExpressions[\(i)].values must be strings") }
                        values?.append(s)
                    }
                default: throw SelectorError("matchExpressions[\(i)].values must be a list")
                }
                exprs.append(MetaV1.LabelSelectorRequirement(key: key, operator: op, values: values))
            }
            selector.matchExpressions = exprs
        default: throw SelectorError("matchExpressions must be a list")
        }
        return selector
    }

    /// How kubectl and server-side printing show a selector (`FormatLabelSelector`): `<none>` when
    /// empty or nil, `<error>` when invalid.
    public static func format(_ selector: MetaV1.LabelSelector?) -> String {
        guard let s = try? LabelSelector(selector) else { return "<error>" }
        let text = s.description
        return text.isEmpty ? "<none>" : text
    }

    /// Field errors for a `metav1.LabelSelector` inside an object (`spec.selector.matchExpressions[0].operator: …`),
    /// as `ValidateLabelSelector`.
    public static func validate(_ selector: MetaV1.LabelSelector?, path: FieldPath) -> [FieldError] {
        guard let selector else { return [] }
        var errs = MetadataValidation.validateLabels(selector.matchLabels ?? [:], path: path.child("matchLabels"))
        for (i, expr) in (selector.matchExpressions ?? []).enumerated() {
            let p = path.child("matchExpressions").index(i)
            let values = expr.values ?? []
            switch expr.operator {
            case "In", "NotIn":
                if values.isEmpty { errs.append(.required(p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")) }
            case "Exists", "DoesNotExist":
                if !values.isEmpty { errs.append(.forbidden(p.child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")) }
            default:
                errs.append(.invalid(p.child("operator"), value: expr.operator, "not a valid selector operator"))
            }
            errs += MetadataValidation.validateLabelName(expr.key, path: p.child("key"))
            for (j, v) in values.enumerated() {
                for msg in NameValidation.labelValue(v) {
                    errs.append(.invalid(p.child("values").index(j), value: v, msg))
                }
            }
        }
        return errs
    }
}
