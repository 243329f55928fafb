import CapstanAPI

/// Small renderings shared by the printers, matching Kubernetes' helpers.
enum Format {
    static func name(_ object: JSONNode) -> JSONValue {
        .string(object["metadata"]["name"].text)
    }

    /// `labels.FormatLabels`: `k=v` pairs sorted by key, or `<none>`.
    static func labels(_ map: JSONNode) -> String {
        let s = labelSet(map.stringMap)
        return s.isEmpty ? "<none>" : s
    }

    /// `labels.Set.String()`.
    static func labelSet(_ map: [String: String]) -> String {
        map.keys.sorted(by: byteOrder).map { "\($0)=\(map[$0]!)" }.joined(separator: ",")
    }

    /// `metav1.LabelSelectorAsSelector(s).String()`: "" for a nil or empty selector, nil when
    /// the selector is invalid.
    static func selector(_ selector: JSONNode) -> String? {
        guard selector.exists else { return "" }
        var requirements: [(key: String, text: String)] = []
        for (key, value) in selector["matchLabels"].stringMap {
            requirements.append((key, "\(key)=\(value)"))
        }
        for expression in selector["matchExpressions"].array {
            let key = expression["key"].text
            let values = expression["values"].array.compactMap(\.string)
            switch expression["operator"].text {
            case "In", "NotIn":
                guard !values.isEmpty else { return nil }
                let op = expression["operator"].text == "In" ? "in" : "notin"
                requirements.append((key, "\(key) \(op) (\(values.sorted(by: byteOrder).joined(separator: ",")))"))
            case "Exists":
                guard values.isEmpty else { return nil }
                requirements.append((key, key))
            case "DoesNotExist":
                guard values.isEmpty else { return nil }
                requirements.append((key, "!\(key)"))
            default:
                return nil
            }
        }
        // Sorted by key; ties keep their order.
        let sorted = requirements.enumerated().sorted { a, b in
            a.element.key == b.element.key ? a.offset < b.offset : byteOrder(a.element.key, b.element.key)
        }
        return sorted.map(\.element.text).joined(separator: ",")
    }

    /// `metav1.FormatLabelSelector`: the selector, `<none>` when empty, `<error>` when invalid.
    static func labelSelector(_ node: JSONNode) -> String {
        guard let s = selector(node) else { return "<error>" }
        return s.isEmpty ? "<none>" : s
    }

    /// Container names and images, each comma-joined.
    static func containers(_ podSpec: JSONNode) -> (names: String, images: String) {
        let containers = podSpec["containers"].array
        return (containers.map { $0["name"].text }.joined(separator: ","),
                containers.map { $0["image"].text }.joined(separator: ","))
    }

    /// A quantity in canonical form (`resource.Quantity.String()`); "0" when absent.
    static func quantity(_ node: JSONNode) -> String {
        switch node.value {
        case .string(let s)?:
            if let q = try? Quantity(parsing: s) { return q.description }
            return s
        case .int(let i)?:
            return Quantity(i).description
        case .double(let d)?:
            return (try? Quantity(parsing: GoFormat.jsonNumber(d)))?.description ?? GoFormat.printV(d)
        default:
            return "0"
        }
    }

    /// `intstr.IntOrString.String()`.
    static func intOrString(_ node: JSONNode) -> String {
        if let i = node.int { return String(i) }
        return node.text
    }

    /// `net.JoinHostPort`.
    static func hostPort(_ host: String, _ port: Int64) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `helper.GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order.
    static func accessModes(_ modes: JSONNode) -> String {
        let present = Set(modes.array.compactMap(\.string))
        let table = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        return table.filter { present.contains($0.0) }.map(\.1).joined(separator: ",")
    }

    /// "True", "False", or "<unset>" for an optional boolean.
    static func optionalBool(_ node: JSONNode) -> String {
        guard let b = node.bool else { return "<unset>" }
        return b ? "True" : "False"
    }

    /// Up to `max` items joined by ",", then " + N more...", or `<unset>` when there are none.
    static func listWithMore(_ items: [String], max: Int = 3) -> String {
        if items.count > max {
            return items.prefix(max).joined(separator: ",") + " + \(items.count - max) more..."
        }
        return items.isEmpty ? "<unset>" : items.joined(separator: ",")
    }

    /// The group of an `apiVersion` ("apps/v1" -> "apps", "v1" -> "").
    static func group(ofAPIVersion apiVersion: String) -> String {
        guard let slash = apiVersion.firstIndex(of: "/") else { return "" }
        return String(apiVersion[..<slash])
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// `strings.TrimSpace`.
    static func trimSpace(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
