/// `metadata.generateName` handling as Kubernetes' simple name generator: the prefix, cut to 58
/// bytes, plus 5 random characters from Kubernetes' alphabet (no vowels, no look-alike digits).
public enum NameGenerator {
    /// The characters random suffixes are drawn from.
    public static let alphabet: [UInt8] = Array("bcdfghjklmnpqrstvwxz2456789".utf8)
    /// Length of the random suffix.
    public static let randomLength = 5
    /// The longest prefix kept: 63 - 5.
    public static let maxPrefixLength = 63 - randomLength

    /// A name for `base`, drawing the suffix from `generator` (inject a seeded one in tests).
    public static func generateName<R: RandomNumberGenerator>(base: String, using generator: inout R) -> String {
        var bytes = Array(base.utf8.prefix(maxPrefixLength))
        for _ in 0..<randomLength {
            bytes.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A name for `base` using the system's random source.
    public static func generateName(base: String) -> String {
        var rng = SystemRandomNumberGenerator()
        return generateName(base: base, using: &rng)
    }
}
