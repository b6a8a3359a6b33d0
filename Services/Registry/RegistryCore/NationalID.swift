import Foundation

/// A resident identity number (居民身份证号码) checked against GB 11643-1999: 17 digits and a check
/// character computed over them (ISO 7064 MOD 11-2), a six-digit area code and a real date of birth.
///
/// The number itself never leaves the registry: events and logs carry only `masked`, and storage
/// keeps a keyed digest so duplicates are found without keeping the number readable.
public struct NationalID: Sendable, Hashable {
    /// Upper-case, 18 characters.
    public let value: String

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case wrongLength(Int)
        case notDigits
        case badCheckCharacter(expected: Character)
        case badAreaCode
        case badBirthDate

        public var description: String {
            switch self {
            case .wrongLength(let length): "must have 18 characters, has \(length)"
            case .notDigits: "must be 17 digits followed by a digit or X"
            case .badCheckCharacter(let expected): "check character is wrong (GB 11643 gives \(expected)); the number was probably mistyped"
            case .badAreaCode: "does not start with a valid area code"
            case .badBirthDate: "does not contain a valid date of birth"
            }
        }
    }

    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// Validates `text` (spaces ignored, a lower-case x accepted).
    public init(_ text: String, today: Date = Date()) throws(Problem) {
        // Bytes, not Characters: a district import checks hundreds of thousands of numbers, and
        // Unicode properties per Character cost more than the rest of the check.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(18)
        for byte in text.utf8 where byte != 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D {
            bytes.append(byte == 0x78 ? 0x58 : byte)  // x → X
        }
        if bytes.count != 18 || !bytes.allSatisfy({ $0 < 0x80 }) {
            let length = text.filter { !$0.isWhitespace }.count
            throw length == 18 ? .notDigits : .wrongLength(length)
        }
        var digits = [Int](repeating: 0, count: 17)
        for index in 0..<17 {
            guard (0x30...0x39).contains(bytes[index]) else { throw .notDigits }
            digits[index] = Int(bytes[index] - 0x30)
        }
        guard (0x30...0x39).contains(bytes[17]) || bytes[17] == 0x58 else { throw .notDigits }
        let expected = Self.checkCharacter(for: digits)
        guard Character(Unicode.Scalar(bytes[17])) == expected else { throw .badCheckCharacter(expected: expected) }
        // Area codes start with 1–8 (provinces); 9 is not assigned to residents.
        guard (1...8).contains(digits[0]) else { throw .badAreaCode }
        guard let birth = Self.birthInstant(digits: digits), birth <= today.timeIntervalSince1970 else { throw .badBirthDate }
        value = String(decoding: bytes, as: UTF8.self)
    }

    /// The first second of the birth day in China (UTC+8), from the calendar date alone: the civil-date
    /// arithmetic (days since 1970 by Howard Hinnant's algorithm) needs no calendar object.
    static func birthInstant(digits: [Int]) -> TimeInterval? {
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + $1 } }
        let year = number(6..<10), month = number(10..<12), day = number(12..<14)
        guard year >= 1900, (1...12).contains(month) else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...lengths[month - 1]).contains(day) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return TimeInterval(days * 86_400 - 8 * 3_600)
    }

    /// ISO 7064 MOD 11-2 over the first 17 digits.
    public static func checkCharacter(for digits: [Int]) -> Character {
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return checkCharacters[sum % 11]
    }

    /// Made once: building a calendar and looking up its time zone costs more than the rest of a check,
    /// and a district import checks hundreds of thousands of numbers.
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }()

    static func birthDate(digits: [Int]) -> Date? {
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + $1 } }
        let year = number(6..<10), month = number(10..<12), day = number(12..<14)
        guard year >= 1900 else { return nil }
        let calendar = Self.calendar
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = calendar.date(from: components),
            calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: year, month: month, day: day)
        else { return nil }
        return date
    }

    /// The date of birth the number encodes.
    public var birthDate: Date {
        Self.birthDate(digits: value.prefix(17).compactMap { $0.wholeNumberValue })!
    }

    /// The date of birth as `YYYY-MM-DD`.
    public var birthDay: String {
        // A valid number is ASCII: its bytes are its characters.
        let digits = Array(value.utf8)
        return String(decoding: digits[6..<10] + [UInt8(ascii: "-")] + digits[10..<12] + [UInt8(ascii: "-")] + digits[12..<14], as: UTF8.self)
    }

    /// Area code and check character kept, the rest hidden: `110105********123X` → `110105********...`.
    public var masked: String {
        String(value.prefix(6)) + String(repeating: "*", count: 8) + String(value.suffix(4))
    }
}
