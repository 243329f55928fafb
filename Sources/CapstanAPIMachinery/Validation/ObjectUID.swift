/// `metadata.uid` for new objects: a random (version 4, RFC 4122 variant) UUID in lower-case
/// text, as kube-apiserver writes. Built from 16 bytes of the system's random source and
/// formatted here: Foundation's `UUID()` opens and reads `/dev/urandom` and formats with
/// `sprintf` on every call, which a create pays for.
public enum ObjectUID {
    /// A new random UID.
    public static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        return random(using: &rng)
    }

    /// A UID drawn from `generator` (inject a seeded one in tests).
    public static func random<R: RandomNumberGenerator>(using generator: inout R) -> String {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return format(high: (high & ~0xF000) | 0x4000, low: (low & ~(0xC0 << 56)) | (0x80 << 56))
    }

    /// The 8-4-4-4-12 text of the 128 bits `high` then `low`, most significant first.
    static func format(high: UInt64, low: UInt64) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { out in
            var at = 0
            func put(_ word: UInt64, _ nibbles: Int, from shift: Int) {
                for i in 0..<nibbles {
                    let nibble = Int((word >> UInt64(shift - 4 * i)) & 0xF)
                    out[at] = digits.utf8Start[nibble]
                    at += 1
                }
            }
            func dash() { out[at] = UInt8(ascii: "-"); at += 1 }
            put(high, 8, from: 60); dash()
            put(high, 4, from: 28); dash()
            put(high, 4, from: 12); dash()
            put(low, 4, from: 60); dash()
            put(low, 12, from: 44)
            return at
        }
    }
}
