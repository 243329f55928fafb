/// The orders Kubernetes publishes groups and versions in.
///
/// Groups are sorted by priority, highest first, then by name; built-in groups carry the
/// priorities kube-apiserver registers for them, everything else (custom resources) the
/// default of an APIService created for a CRD group. Versions within a group follow
/// Kubernetes' "kube-aware" order: GA before beta before alpha, higher numbers first, other
/// strings last in lexical order. The first version is the preferred one.
public enum APIOrdering {
    /// The priority of a group whose owner gave none (kube-aggregator's default for CRD groups).
    public static let defaultGroupPriority = 1000

    /// Priorities of the built-in groups (kube-apiserver's `apiVersionPriorities`).
    public static let builtInGroupPriorities: [String: Int] = [
        "": 18000,
        "apiregistration.k8s.io": 18000,
        "apps": 17800,
        "events.k8s.io": 17750,
        "authentication.k8s.io": 17700,
        "authorization.k8s.io": 17600,
        "autoscaling": 17500,
        "batch": 17400,
        "certificates.k8s.io": 17300,
        "networking.k8s.io": 17200,
        "policy": 17100,
        "rbac.authorization.k8s.io": 17000,
        "storage.k8s.io": 16800,
        "admissionregistration.k8s.io": 16700,
        "apiextensions.k8s.io": 16700,
        "scheduling.k8s.io": 16600,
        "coordination.k8s.io": 16500,
        "node.k8s.io": 16300,
        "discovery.k8s.io": 16200,
        "resource.k8s.io": 16200,
        "flowcontrol.apiserver.k8s.io": 16100,
        "internal.apiserver.k8s.io": 16000,
        "storagemigration.k8s.io": 15000,
    ]

    public static func groupPriority(_ group: String) -> Int {
        builtInGroupPriorities[group] ?? defaultGroupPriority
    }

    /// Whether group `a` is listed before group `b`.
    public static func groupPrecedes(_ a: String, _ b: String) -> Bool {
        let pa = groupPriority(a), pb = groupPriority(b)
        if pa != pb { return pa > pb }
        return JSON.byteOrder(a, b)
    }

    /// Whether version `a` is listed before (is preferred over) version `b`.
    public static func versionPrecedes(_ a: String, _ b: String) -> Bool {
        let ka = KubeVersion(a), kb = KubeVersion(b)
        switch (ka, kb) {
        case (nil, nil): return JSON.byteOrder(a, b)
        case (nil, _): return false
        case (_, nil): return true
        case (let x?, let y?):
            if x.stage != y.stage { return x.stage > y.stage }
            if x.major != y.major { return x.major > y.major }
            return x.minor > y.minor
        }
    }

    private struct KubeVersion {
        /// 2 for GA, 1 for beta, 0 for alpha.
        var stage: Int
        var major: Int
        var minor: Int

        init?(_ s: String) {
            var rest = Substring(s)
            guard rest.first == "v" else { return nil }
            rest = rest.dropFirst()
            let majorDigits = rest.prefix(while: \.isASCIIDigit)
            guard !majorDigits.isEmpty, majorDigits.first != "0", let major = Int(majorDigits) else { return nil }
            rest = rest.dropFirst(majorDigits.count)
            self.major = major
            if rest.isEmpty {
                stage = 2
                minor = 0
                return
            }
            if rest.hasPrefix("beta") {
                stage = 1
                rest = rest.dropFirst(4)
            } else if rest.hasPrefix("alpha") {
                stage = 0
                rest = rest.dropFirst(5)
            } else {
                return nil
            }
            guard !rest.isEmpty, rest.allSatisfy(\.isASCIIDigit), rest.first != "0", let minor = Int(rest) else {
                return nil
            }
            self.minor = minor
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
