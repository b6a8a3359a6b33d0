import Contracts

/// Amounts of money in fen (1/100 yuan), as `Int`.
///
/// Every amount a caller sends is checked against `largestFen` before anything is written, and every
/// sum is taken with checked arithmetic: an amount that could overflow is a field error (400), never a
/// trap that ends the process.
public enum Money {
    /// Ten billion yuan: large enough for any purchase, small enough that sums of checked amounts never
    /// come near `Int.max`.
    public static let largestFen = 1_000_000_000_000

    /// A payable amount: more than 0 and at most `largestFen`.
    public static func isAmount(_ fen: Int) -> Bool { fen > 0 && fen <= largestFen }

    /// What is wrong with an amount, said the same way everywhere; `nil` when it is a payable amount.
    public static func problem(_ fen: Int) -> String? {
        if fen <= 0 { return "must be more than 0" }
        if fen > largestFen { return "must be at most \(largestFen) fen" }
        return nil
    }

    /// `a + b`, or `nil` when the sum does not fit in an `Int`.
    public static func adding(_ a: Int, _ b: Int) -> Int? {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }

    /// `a × b`, or `nil` when the product does not fit in an `Int`.
    public static func multiplying(_ a: Int, _ b: Int) -> Int? {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : product
    }

    /// The sum of `amounts`, or `nil` as soon as it would not fit in an `Int`.
    public static func sum(_ amounts: some Sequence<Int>) -> Int? {
        var total = 0
        for amount in amounts {
            guard let next = adding(total, amount) else { return nil }
            total = next
        }
        return total
    }
}

/// Text the database can store: PostgreSQL refuses the character U+0000 in `text` and `jsonb`. (A
/// Swift string is always valid Unicode, so U+0000 is the one thing to look for once JSON is decoded.)
public enum StorableField {
    public static let problem = "holds the character U+0000, which cannot be stored"

    public static func holdsNUL(_ text: some StringProtocol) -> Bool { text.utf8.contains(0) }

    /// A field issue when `text` cannot be stored, else `nil`.
    public static func issue(_ field: String, _ text: some StringProtocol) -> FieldIssue? {
        holdsNUL(text) ? FieldIssue(field, problem) : nil
    }
}
