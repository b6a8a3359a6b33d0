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
        let normalised = text.filter { !$0.isWhitespace }.uppercased()
        guard normalised.count == 18 else { throw .wrongLength(normalised.count) }
        let characters = Array(normalised)
        let digits = characters.prefix(17).compactMap { $0.wholeNumberValue }
        guard digits.count == 17, characters.prefix(17).allSatisfy({ $0.isASCII && $0.isNumber }),
            characters[17].isASCII, characters[17].isNumber || characters[17] == "X"
        else { throw .notDigits }
        let expected = Self.checkCharacter(for: digits)
        guard characters[17] == expected else { throw .badCheckCharacter(expected: expected) }
        // Area codes start with 1–8 (provinces); 9 is not assigned to residents.
        guard let first = digits.first, (1...8).contains(first) else { throw .badAreaCode }
        guard let birth = Self.birthDate(digits: digits), birth <= today else { throw .badBirthDate }
        value = normalised
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
        let digits = Array(value)
        return "\(String(digits[6..<10]))-\(String(digits[10..<12]))-\(String(digits[12..<14]))"
    }

    /// Area code and check character kept, the rest hidden: `110105********123X` → `110105********...`.
    public var masked: String {
        String(value.prefix(6)) + String(repeating: "*", count: 8) + String(value.suffix(4))
    }
}
