import CapstanAPI

/// What every simulated node looks like: capacity (also its allocatable), labels and taints.
public struct SimulatedNodeTemplate: Sendable, Hashable {
    /// CPU cores, as a quantity (`32`, `7500m`).
    public var cpu: String
    /// Memory, as a quantity (`256Gi`).
    public var memory: String
    /// How many pods the node accepts.
    public var pods: Int
    public var ephemeralStorage: String
    /// Extended resources (`example.com/gpu: 4`).
    public var extendedResources: [String: String]
    /// Labels besides the well-known ones every node gets (`kubernetes.io/hostname`, os, arch).
    public var labels: [String: String]
    public var taints: [CoreV1.Taint]
    /// Zones the nodes are spread over, round-robin by index: node `i` is labelled
    /// `topology.kubernetes.io/zone=zone-<i % zones>`. 0: no zone label.
    public var zones: Int

    public static let zoneLabel = "topology.kubernetes.io/zone"

    public init(cpu: String = "32", memory: String = "256Gi", pods: Int = 110, ephemeralStorage: String = "100Gi",
                extendedResources: [String: String] = [:], labels: [String: String] = [:], taints: [CoreV1.Taint] = [],
                zones: Int = 0) {
        self.cpu = cpu
        self.memory = memory
        self.pods = pods
        self.ephemeralStorage = ephemeralStorage
        self.extendedResources = extendedResources
        self.labels = labels
        self.taints = taints
        self.zones = zones
    }

    /// The zone of node `index`, nil when the template has no zones.
    public func zone(ofNode index: Int) -> String? {
        zones > 0 ? "zone-\(index % zones)" : nil
    }

    /// Checks the quantities parse, so a bad flag fails before any node is written.
    public func validate() throws(SimulatorInputError) {
        for (name, value) in [("cpu", cpu), ("memory", memory), ("ephemeral-storage", ephemeralStorage)] + extendedResources.sorted(by: { $0.key < $1.key }) {
            do { _ = try Quantity(parsing: value) } catch {
                throw SimulatorInputError("invalid \(name) quantity \"\(value)\": \(error.reason)")
            }
        }
        if pods < 0 { throw SimulatorInputError("pods must not be negative") }
        if zones < 0 { throw SimulatorInputError("zones must not be negative") }
    }
}

/// Bad input to the simulator (a flag, an annotation value).
public struct SimulatorInputError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Parsers for the simulator's command-line and annotation values.
public enum SimulatorParsing {
    /// `k=v,k2=v2` (empty: no labels).
    public static func labels(_ text: String) throws(SimulatorInputError) -> [String: String] {
        var out: [String: String] = [:]
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty else { throw SimulatorInputError("invalid label \"\(part)\": expected key=value") }
            out[String(kv[0])] = String(kv[1])
        }
        return out
    }

    /// `key=value:Effect` or `key:Effect`, comma separated; effects NoSchedule, PreferNoSchedule, NoExecute.
    public static func taints(_ text: String) throws(SimulatorInputError) -> [CoreV1.Taint] {
        var out: [CoreV1.Taint] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            guard let colon = part.lastIndex(of: ":") else {
                throw SimulatorInputError("invalid taint \"\(part)\": expected key=value:Effect")
            }
            let effect = String(part[part.index(after: colon)...])
            guard ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) else {
                throw SimulatorInputError("invalid taint effect \"\(effect)\": expected NoSchedule, PreferNoSchedule or NoExecute")
            }
            let kv = part[..<colon].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = kv.first, !key.isEmpty else { throw SimulatorInputError("invalid taint \"\(part)\": empty key") }
            out.append(CoreV1.Taint(effect: effect, key: String(key), value: kv.count == 2 ? String(kv[1]) : nil))
        }
        return out
    }

    /// A Go-style duration: `1.5s`, `100ms`, `2m30s`, `1h`, `0`.
    public static func duration(_ text: String) throws(SimulatorInputError) -> Duration {
        let s = String(text.filter { $0 != " " })
        if s == "0" { return .zero }
        var total: Double = 0
        var i = s.startIndex
        guard i < s.endIndex else { throw SimulatorInputError("invalid duration \"\(text)\": empty") }
        while i < s.endIndex {
            var j = i
            while j < s.endIndex, s[j].isNumber || s[j] == "." { j = s.index(after: j) }
            guard j > i, let value = Double(s[i..<j]) else { throw SimulatorInputError("invalid duration \"\(text)\": expected a number") }
            var k = j
            while k < s.endIndex, !(s[k].isNumber || s[k] == ".") { k = s.index(after: k) }
            let unit: Double
            switch s[j..<k] {
            case "ns": unit = 1e-9
            case "us", "µs": unit = 1e-6
            case "ms": unit = 1e-3
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            default: throw SimulatorInputError("invalid duration \"\(text)\": unknown unit \"\(s[j..<k])\" (ns, us, ms, s, m, h)")
            }
            total += value * unit
            i = k
        }
        return .nanoseconds(Int64((total * 1e9).rounded()))
    }
}
