import struct Foundation.Date

/// The CRI container log format: one record per line,
/// `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>`; `P` marks a partial line
/// (the line continues in the next record), `F` a full one.
public enum CRILog {
    public enum Stream: String, Sendable, Hashable {
        case stdout, stderr
    }

    /// Longest content of one record; longer lines are split into `P` records.
    public static let maxRecordContent = 16 * 1024

    public struct Record: Sendable, Hashable {
        public var timestamp: String
        public var stream: Stream
        public var partial: Bool
        public var content: String

        public init(timestamp: String, stream: Stream, partial: Bool, content: String) {
            self.timestamp = timestamp
            self.stream = stream
            self.partial = partial
            self.content = content
        }
    }

    /// One record, terminated by "\n".
    public static func format(timestamp: String, stream: Stream, partial: Bool, content: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(timestamp.utf8.count + content.count + 12)
        out += timestamp.utf8
        out.append(0x20)
        out += stream.rawValue.utf8
        out += partial ? Array(" P ".utf8) : Array(" F ".utf8)
        out += content
        out.append(0x0A)
        return out
    }

    /// Parses one record (without its trailing newline); `nil` when it is not CRI format.
    public static func parse(_ line: Substring) -> Record? {
        let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3, let stream = Stream(rawValue: String(fields[1])) else { return nil }
        let tag = fields[2]
        guard tag == "F" || tag == "P" else { return nil }
        return Record(timestamp: String(fields[0]), stream: stream, partial: tag == "P", content: fields.count > 3 ? String(fields[3]) : "")
    }

    /// RFC 3339 with nanoseconds in UTC, as kubelet writes it (`2016-10-06T00:17:09.669794202Z`).
    public static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = Int64(seconds.rounded(.down))
        var nanos = Int64(((seconds - Double(whole)) * 1e9).rounded())
        if nanos >= 1_000_000_000 {
            whole += 1
            nanos -= 1_000_000_000
        }
        return timestamp(epochSeconds: whole, nanoseconds: nanos)
    }

    public static func timestamp(epochSeconds: Int64, nanoseconds: Int64) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secondsOfDay = epochSeconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(nanoseconds, 9))Z"
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
