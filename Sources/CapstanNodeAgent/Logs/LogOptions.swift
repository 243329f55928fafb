import CapstanContainerRuntime
import Foundation

/// The query of `/containerLogs/NS/POD/CONTAINER` (kubelet's names, as `kubectl logs` sends them
/// through the API server).
public struct LogOptions: Sendable, Hashable {
    public var follow = false
    public var previous = false
    public var timestamps = false
    public var tailLines: Int?
    public var sinceSeconds: Int?
    /// RFC 3339 (`sinceTime`), an alternative to sinceSeconds.
    public var sinceTime: Date?
    public var limitBytes: Int?

    public init() {}

    /// Parses the query string; bad values are errors.
    public init(query: String) throws(LogRequestError) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]).removingPercentEncoding ?? String(parts[1]) : "true"
            func bool() throws(LogRequestError) -> Bool {
                switch value { case "true", "1", "": return true; case "false", "0": return false
                default: throw LogRequestError(status: 400, "invalid value \"\(value)\" for \(name)") }
            }
            func int() throws(LogRequestError) -> Int {
                guard let number = Int(value), number >= 0 else { throw LogRequestError(status: 400, "invalid value \"\(value)\" for \(name)") }
                return number
            }
            switch name {
            case "follow": follow = try bool()
            case "previous": previous = try bool()
            case "timestamps": timestamps = try bool()
            case "tailLines": tailLines = try int()
            case "sinceSeconds": sinceSeconds = try int()
            case "limitBytes": limitBytes = try int()
            case "sinceTime":
                guard let date = ISO8601DateFormatter().date(from: value) else { throw LogRequestError(status: 400, "invalid sinceTime \"\(value)\"") }
                sinceTime = date
            default: break
            }
        }
    }
}

public struct LogRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var description: String
    public init(status: Int, _ description: String) {
        self.status = status
        self.description = description
    }
}

/// Turns CRI log file content into what `kubectl logs` shows (pure): partial records joined,
/// `since` and `tailLines` applied, timestamps prefixed on request.
public struct CRILogRenderer: Sendable {
    public var options: LogOptions
    /// The earliest timestamp shown (RFC 3339 strings of one format compare as text... not across
    /// fractions, so times are parsed).
    public var since: Date?
    private var pending: (timestamp: String, content: String)?

    public init(options: LogOptions, now: Date) {
        self.options = options
        if let seconds = options.sinceSeconds { since = now.addingTimeInterval(-TimeInterval(seconds)) } else { since = options.sinceTime }
    }

    /// The lines of complete records in `text` (whole lines only), in order, already formatted.
    public mutating func lines(_ text: Substring) -> [String] {
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let record = CRILog.parse(line) else { continue }
            if record.partial {
                pending = (pending?.timestamp ?? record.timestamp, (pending?.content ?? "") + record.content)
                continue
            }
            let timestamp = pending?.timestamp ?? record.timestamp
            let content = (pending?.content ?? "") + record.content
            pending = nil
            if let since, let time = Self.parse(timestamp), time < since { continue }
            out.append(options.timestamps ? "\(timestamp) \(content)\n" : content + "\n")
        }
        return out
    }

    /// The whole file rendered with tailLines applied.
    public mutating func render(_ text: String) -> [String] {
        let all = lines(Substring(text))
        if let tail = options.tailLines { return Array(all.suffix(tail)) }
        return all
    }

    static func parse(_ timestamp: String) -> Date? {
        // 2016-10-06T00:17:09.669794202Z: seconds part + fraction.
        let parts = timestamp.split(separator: ".", maxSplits: 1)
        let formatter = ISO8601DateFormatter()
        guard parts.count == 2 else { return formatter.date(from: timestamp) }
        guard let base = formatter.date(from: String(parts[0]) + "Z") else { return nil }
        let digits = parts[1].prefix { $0.isNumber }
        let fraction = Double("0." + digits) ?? 0
        return base.addingTimeInterval(fraction)
    }
}
