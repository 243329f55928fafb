import Foundation

/// A standard five-field cron schedule (minute, hour, day of month, month, day of week) with
/// the `@hourly`-style macros, names (`JAN`, `MON`), ranges, lists and steps, evaluated in a
/// time zone. As in cron, when both day fields are restricted a day matching either runs.
public struct CronSchedule: Sendable, Hashable {
    public struct ParseError: Error, Hashable, CustomStringConvertible {
        public let description: String
    }

    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let dayRestricted: Bool
    let weekdayRestricted: Bool
    public let timeZone: TimeZone

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Parses `schedule` for `timeZone` (an IANA name such as `Etc/UTC`; nil is UTC).
    public init(_ schedule: String, timeZone name: String? = nil) throws(ParseError) {
        var text = schedule.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("TZ=") || text.hasPrefix("CRON_TZ=") {
            throw ParseError(description: "TZ and CRON_TZ are not allowed in the schedule; use spec.timeZone")
        }
        if text.hasPrefix("@") {
            guard let expanded = Self.macros[text.lowercased()] else {
                throw ParseError(description: "unrecognized descriptor: \(text)")
            }
            text = expanded
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(description: "expected exactly 5 fields, found \(fields.count): \(schedule)")
        }
        if let name {
            guard let zone = TimeZone(identifier: name) else { throw ParseError(description: "unknown time zone \(name)") }
            timeZone = zone
        } else {
            timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current
        }
        minutes = try Self.field(fields[0], 0...59, names: [])
        hours = try Self.field(fields[1], 0...23, names: [])
        days = try Self.field(fields[2], 1...31, names: [])
        months = try Self.field(fields[3], 1...12, names: Self.monthNames, nameBase: 1)
        var dow = try Self.field(fields[4], 0...7, names: Self.dayNames)
        if dow.remove(7) != nil { dow.insert(0) }
        weekdays = dow
        dayRestricted = !(fields[2].hasPrefix("*") || fields[2].hasPrefix("?"))
        weekdayRestricted = !(fields[4].hasPrefix("*") || fields[4].hasPrefix("?"))
    }

    static func field(_ text: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0) throws(ParseError) -> Set<Int> {
        func value(_ s: Substring) throws(ParseError) -> Int {
            if let n = Int(s) {
                guard range.contains(n) else { throw ParseError(description: "\(n) is out of range \(range) in \(text)") }
                return n
            }
            if let i = names.firstIndex(of: s.uppercased()) { return i + nameBase }
            throw ParseError(description: "failed to parse \"\(s)\" in \(text)")
        }
        var result = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, let rangeText = pieces.first, !rangeText.isEmpty else {
                throw ParseError(description: "failed to parse \"\(part)\" in \(text)")
            }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw ParseError(description: "bad step in \"\(part)\"") }
                step = s
            }
            var lower: Int, upper: Int
            if rangeText == "*" || rangeText == "?" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else {
                let bounds = rangeText.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw ParseError(description: "failed to parse \"\(part)\" in \(text)") }
                lower = try value(bounds[0])
                upper = bounds.count == 2 ? try value(bounds[1]) : (pieces.count == 2 ? range.upperBound : lower)
                guard lower <= upper else { throw ParseError(description: "beginning of range after end: \(part)") }
            }
            result.formUnion(stride(from: lower, through: upper, by: step))
        }
        return result
    }

    func dayMatches(day: Int, weekday: Int) -> Bool {
        if dayRestricted && weekdayRestricted { return days.contains(day) || weekdays.contains(weekday) }
        return days.contains(day) && weekdays.contains(weekday)
    }

    /// The first scheduled time strictly after `date` (whole minutes), within five years.
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        var c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: start)
        let lastYear = (c.year ?? 1970) + 5
        while (c.year ?? 0) <= lastYear {
            guard let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute else { return nil }
            if !months.contains(month) {
                c.month = month + 1; c.day = 1; c.hour = 0; c.minute = 0
                if month == 12 { c.month = 1; c.year = (c.year ?? 0) + 1 }
                continue
            }
            guard let firstOfMonth = calendar.date(from: DateComponents(year: c.year, month: month, day: 1)),
                  let dayDate = calendar.date(from: DateComponents(year: c.year, month: month, day: day)) else { return nil }
            let daysInMonth = calendar.range(of: .day, in: .month, for: firstOfMonth)?.count ?? 31
            if day > daysInMonth {
                c.month = month + 1; c.day = 1; c.hour = 0; c.minute = 0
                if month == 12 { c.month = 1; c.year = (c.year ?? 0) + 1 }
                continue
            }
            let weekday = calendar.component(.weekday, from: dayDate) - 1
            if !dayMatches(day: day, weekday: weekday) {
                c.day = day + 1; c.hour = 0; c.minute = 0
                continue
            }
            if !hours.contains(hour) {
                if hour == 23 { c.day = day + 1; c.hour = 0 } else { c.hour = hour + 1 }
                c.minute = 0
                continue
            }
            if minutes.contains(minute), let found = calendar.date(from: c), found > date {
                // (A wall-clock time skipped by a DST change resolves past it; never go backwards.)
                return found
            }
            if minute == 59 {
                c.minute = 0
                if hour == 23 { c.day = day + 1; c.hour = 0 } else { c.hour = hour + 1 }
            } else {
                c.minute = minute + 1
            }
        }
        return nil
    }
}
