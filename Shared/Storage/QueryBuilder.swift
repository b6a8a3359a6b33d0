import Foundation
import PostgresNIO

/// Builds a statement whose `WHERE` clause depends on which filters a caller gave, keeping every value
/// a bound parameter. Fixed statements use PostgresNIO's string interpolation instead.
public struct QueryBuilder: Sendable {
    public private(set) var bindings = PostgresBindings()
    private var conditions: [String] = []

    public init() {}

    /// Binds after `query`'s own values, for fragments appended to its text (a statement written
    /// with string interpolation, continued with parts other modules build).
    public init(after query: PostgresQuery) {
        bindings = query.binds
    }

    /// Binds `value` and returns its placeholder (`$1`, `$2`, …).
    public mutating func bind<Value: PostgresNonThrowingEncodable & Sendable>(_ value: Value) -> String {
        bindings.append(value)
        return "$\(bindings.count)"
    }

    /// Adds a condition; `make` receives the placeholder of the bound value.
    public mutating func filter<Value: PostgresNonThrowingEncodable & Sendable>(_ value: Value?, _ make: (String) -> String) {
        guard let value else { return }
        conditions.append(make(bind(value)))
    }

    /// Adds a condition with no value.
    public mutating func filter(_ condition: String) {
        conditions.append(condition)
    }

    /// `WHERE a AND b …`, or nothing when there is no condition.
    public var whereClause: String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }

    /// One page of a list in `column` order, after the previous page's last key: adds that condition
    /// and returns `ORDER BY column LIMIT n`, where n is one more than the page so that the extra row
    /// says whether there is more.
    public mutating func keyset<Key: PostgresNonThrowingEncodable & Sendable>(after key: Key?, column: String, limit: Int) -> String {
        filter(key) { "\(column) > \($0)" }
        return "ORDER BY \(column) LIMIT \(bind(limit + 1))"
    }

    public func query(_ sql: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}

extension PostgresBindings {
    /// Bindings for a fixed list of values, for statements whose text varies (a table name, a lock
    /// clause) and so cannot use string interpolation.
    public static func of(_ values: any PostgresNonThrowingEncodable & Sendable...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }
}

/// Lower-case hex (bytea digests, request hashes); written by hand because `String(format:)` per byte
/// costs more than computing a digest, and a district import formats hundreds of thousands.
public func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    text.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}

extension PostgresRowSequence {
    /// The ids of a statement that returns them as one array (`SELECT coalesce(array_agg(id), '{}')
    /// FROM <part>`): PostgresNIO spends more on a row each than a batch's insert costs.
    public func idSet() async throws -> Set<UUID> {
        var ids: Set<UUID> = []
        for try await array in decode([UUID].self) { ids.formUnion(array) }
        return ids
    }

    /// Decodes each row with `make`.
    public func collect<T>(_ make: (PostgresRandomAccessRow) throws -> T) async throws -> [T] {
        var items: [T] = []
        for try await row in self { items.append(try make(row.makeRandomAccess())) }
        return items
    }
}
