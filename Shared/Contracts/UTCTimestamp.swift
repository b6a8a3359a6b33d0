import Foundation

/// RFC 3339 times in UTC (`2026-11-24T03:35:51Z`, `2026-11-24T03:35:51.123Z`), written and read by
/// arithmetic. Every event carries one in a header and most carry some in their body; Foundation's
/// format styles spent more time on them than the rest of a record's handling.
public enum UTCTimestamp {
    /// The time in whole seconds (as `JSONEncoder`'s `.iso8601`) or with milliseconds, both truncated.
    public static func append(_ date: Date, milliseconds: Bool, to output: inout [UInt8]) {
        let interval = date.timeIntervalSince1970
        let seconds = Int64(interval.rounded(.down))
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civil(fromDays: days)
        append(year, digits: 4, to: &output)
        output.append(UInt8(ascii: "-"))
        append(month, digits: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        append(day, digits: 2, to: &output)
        output.append(UInt8(ascii: "T"))
        append(secondOfDay / 3600, digits: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        append(secondOfDay / 60 % 60, digits: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        append(secondOfDay % 60, digits: 2, to: &output)
        if milliseconds {
            output.append(UInt8(ascii: "."))
            append(min(999, Int64(((interval - Double(seconds)) * 1000).rounded(.down))), digits: 3, to: &output)
        }
        output.append(UInt8(ascii: "Z"))
    }

    public static func string(_ date: Date, milliseconds: Bool) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(24)
        append(date, milliseconds: milliseconds, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a valid date and time, or `nil` for anything else
    /// (offsets, lower-case letters, leap seconds), which callers hand to Foundation.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count >= 20, bytes[bytes.count - 1] == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
            else { return nil }
            func number(_ range: Range<Int>) -> Int64? {
                var value: Int64 = 0
                for index in range {
                    let digit = bytes[index] &- UInt8(ascii: "0")
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int64(digit)
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
                let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month), day >= 1,
                day <= daysIn(month: month, year: year), hour < 24, minute < 60, second < 60
            else { return nil }
            var fraction = 0.0
            if bytes.count > 20 {
                guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, let digits = number(20..<(bytes.count - 1)), bytes.count - 21 <= 9 else { return nil }
                var scale = 1.0
                for _ in 20..<(bytes.count - 1) { scale *= 10 }
                fraction = Double(digits) / scale
            } else if bytes[19] != UInt8(ascii: "Z") {
                return nil
            }
            let seconds = days(fromYear: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
            return Date(timeIntervalSince1970: Double(seconds) + fraction)
        }
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
        return (quotient, value - quotient * divisor)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil and civil-from-days, on the proleptic Gregorian calendar.
    private static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = floorDivision(year, 400).0
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
        let era = floorDivision(shifted, 146_097).0
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func append(_ value: Int64, digits: Int, to output: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<digits { divisor *= 10 }
        var value = value
        while divisor > 0 {
            output.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            value %= divisor
            divisor /= 10
        }
    }
}
