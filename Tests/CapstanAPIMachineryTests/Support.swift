import CapstanAPI
import Foundation

/// Parses JSON text into a `JSONValue` for tests.
func json(_ text: String) -> JSONValue {
    do {
        return try KubeJSON.decode(JSONValue.self, from: Data(text.utf8))
    } catch {
        fatalError("test JSON does not parse: \(error)\n\(text)")
    }
}

/// A small deterministic random source (SplitMix64) so generated names and fuzz inputs repeat.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int(next(upperBound: UInt64(n))) }
}

/// The regex hint Kubernetes appends to qualified-name errors.
let qualifiedNameHint = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

/// The regex hint Kubernetes appends to label-value errors.
let labelValueHint = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
