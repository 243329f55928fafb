extension MetaV1 {
    /// A point in time with second precision, written as RFC 3339 in UTC (`2024-05-01T10:00:00Z`).
    public struct Time: Sendable, Hashable, Comparable {
        /// Seconds since 1970-01-01T00:00:00Z.
        public var secondsSinceEpoch: Int64

        public init(secondsSinceEpoch: Int64) { self.secondsSinceEpoch = secondsSinceEpoch }

        public static func < (a: Time, b: Time) -> Bool { a.secondsSinceEpoch < b.secondsSinceEpoch }

        /// Parses RFC 3339 with any offset and fraction; the fraction is dropped, as Kubernetes does.
        public init(rfc3339 text: String) throws(TimestampError) {
            let t = try RFC3339.parse(text)
            secondsSinceEpoch = t.seconds
        }

        public var rfc3339: String { RFC3339.format(seconds: secondsSinceEpoch, nanos: 0, fractionDigits: 0) }
    }

    /// A point in time with microsecond precision (`2024-05-01T10:00:00.123456Z`).
    public struct MicroTime: Sendable, Hashable, Comparable {
        public var secondsSinceEpoch: Int64
        /// 0..<1_000_000
        public var microseconds: Int32

        public init(secondsSinceEpoch: Int64, microseconds: Int32 = 0) {
            self.secondsSinceEpoch = secondsSinceEpoch
            self.microseconds = microseconds
        }

        public static func < (a: MicroTime, b: MicroTime) -> Bool {
            (a.secondsSinceEpoch, a.microseconds) < (b.secondsSinceEpoch, b.microseconds)
        }

        public init(rfc3339 text: String) throws(TimestampError) {
            let t = try RFC3339.parse(text)
            secondsSinceEpoch = t.seconds
            microseconds = t.nanos / 1000
        }

        public var rfc3339: String {
            RFC3339.format(seconds: secondsSinceEpoch, nanos: microseconds * 1000, fractionDigits: 6)
        }
    }
}

public struct TimestampError: Error, Hashable, Sendable, CustomStringConvertible {
    public let input: String
    public var description: String { "invalid timestamp \"\(input)\": expected RFC 3339, as 2006-01-02T15:04:05Z" }
}

extension MetaV1.Time: Codable, CustomStringConvertible {
    /// Go's zero time (0001-01-01T00:00:00Z), which Kubernetes writes as `null`: a required time
    /// that is null (a TokenRequest's `status.expirationTimestamp` in a request) reads as zero.
    public static let zero = MetaV1.Time(secondsSinceEpoch: -62_135_596_800)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .zero
            return
        }
        let s = try c.decode(String.self)
        do { self = try .init(rfc3339: s) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if self == .zero {
            try c.encodeNil()
        } else {
            try c.encode(rfc3339)
        }
    }

    public var description: String { rfc3339 }
}

extension MetaV1.MicroTime: Codable, CustomStringConvertible {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do { self = try .init(rfc3339: s) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }

    public var description: String { rfc3339 }
}

/// RFC 3339 timestamps without Foundation: civil-date arithmetic on days since the epoch.
enum RFC3339 {
    struct Parsed {
        var seconds: Int64
        var nanos: Int32
    }

    static func parse(_ text: String) throws(TimestampError) -> Parsed {
        let b = Array(text.utf8)
        func fail() -> TimestampError { TimestampError(input: text) }
        func number(_ from: Int, _ count: Int) throws(TimestampError) -> Int {
            guard from + count <= b.count else { throw fail() }
            var n = 0
            for i in from..<(from + count) {
                let d = b[i]
                guard d >= 48, d <= 57 else { throw fail() }
                n = n * 10 + Int(d - 48)
            }
            return n
        }
        func expect(_ at: Int, _ chars: String) throws(TimestampError) {
            guard at < b.count, chars.utf8.contains(b[at]) else { throw fail() }
        }
        let year = try number(0, 4)
        try expect(4, "-")
        let month = try number(5, 2)
        try expect(7, "-")
        let day = try number(8, 2)
        try expect(10, "Tt")
        let hour = try number(11, 2)
        try expect(13, ":")
        let minute = try number(14, 2)
        try expect(16, ":")
        let second = try number(17, 2)
        var i = 19
        var nanos = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 9 {
                    nanos = nanos * 10 + Int(b[i] - 48)
                }
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw fail() }
            for _ in min(digits, 9)..<9 { nanos *= 10 }
        }
        guard i < b.count else { throw fail() }
        var offset = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            let oh = try number(i + 1, 2)
            try expect(i + 3, ":")
            let om = try number(i + 4, 2)
            guard oh < 24, om < 60 else { throw fail() }
            offset = sign * (oh * 3600 + om * 60)
            i += 6
        } else {
            throw fail()
        }
        guard i == b.count else { throw fail() }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60
        else { throw fail() }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        return Parsed(seconds: seconds, nanos: Int32(nanos))
    }

    static func format(seconds: Int64, nanos: Int32, fractionDigits: Int) -> String {
        var days = seconds / 86400
        var rem = seconds % 86400
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        let (y, m, d) = civilFromDays(Int(days))
        var s = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        s += pad(Int(rem / 3600), 2) + ":" + pad(Int(rem % 3600 / 60), 2) + ":" + pad(Int(rem % 60), 2)
        if fractionDigits > 0 {
            var frac = Int(nanos)
            for _ in fractionDigits..<9 { frac /= 10 }
            s += "." + pad(frac, fractionDigits)
        }
        return s + "Z"
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
