import Foundation
import Hummingbird
import Storage

/// One page of a list and the cursor of the next. Cursors are opaque to clients: the key of the last
/// item, so a page is stable while rows are added elsewhere (keyset pagination, no OFFSET).
public struct Page<Item: Codable & Sendable>: Codable, Sendable, ResponseEncodable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// Builds a page from `limit + 1` fetched rows: the extra row only says that there is more.
    public init(fetched: [Item], limit: Int, key: (Item) -> String) {
        if fetched.count > limit {
            items = Array(fetched.prefix(limit))
            nextCursor = PageRequest.encodeCursor(key(items[items.count - 1]))
        } else {
            items = fetched
            nextCursor = nil
        }
    }
}

/// `?cursor=…&limit=…` of a list request, checked.
public struct PageRequest: Sendable {
    public var after: String?
    public var limit: Int

    public static let defaultLimit = 50
    public static let maximumLimit = 500

    public init(after: String? = nil, limit: Int = PageRequest.defaultLimit) {
        self.after = after
        self.limit = limit
    }

    public init(_ query: [String: String]) throws(ProblemDetails) {
        var limit = Self.defaultLimit
        if let text = query["limit"] {
            guard let value = Int(text), (1...Self.maximumLimit).contains(value) else {
                throw .badRequest("limit must be a whole number from 1 to \(Self.maximumLimit), got '\(text.prefix(20))'.")
            }
            limit = value
        }
        var after: String?
        if let cursor = query["cursor"], !cursor.isEmpty {
            guard let key = Self.decodeCursor(cursor) else {
                throw .badRequest("cursor is not one this service issued; start again without it.")
            }
            after = key
        }
        self.init(after: after, limit: limit)
    }

    public static func encodeCursor(_ key: String) -> String {
        Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decodeCursor(_ cursor: String) -> String? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let key = String(data: data, encoding: .utf8), !key.isEmpty else { return nil }
        return key
    }
}

extension Request {
    /// The query string as a dictionary (the last value wins).
    public var queryValues: [String: String] {
        var values: [String: String] = [:]
        for (key, value) in uri.queryParameters { values[String(key)] = String(value) }
        return values
    }
}

extension QueryBuilder {
    /// Keeps a list to the caller's scope and to the `district`, `street` and `community` filters asked
    /// for (both apply: a filter outside the scope finds nothing), on the columns `district_code`,
    /// `street_code` and `community_code`. An organisation's token covers no place: 403.
    public mutating func placeFilters(scope: Scope, query: [String: String], listing what: String) throws(ProblemDetails) {
        switch scope.level {
        case .city: break
        case .district: filter(scope.id) { "district_code = \($0)" }
        case .street: filter(scope.id) { "street_code = \($0)" }
        case .community: filter(scope.id) { "community_code = \($0)" }
        case .organisation: throw .forbidden("An organisation's token does not cover \(what).")
        }
        filter(query["district"]) { "district_code = \($0)" }
        filter(query["street"]) { "street_code = \($0)" }
        filter(query["community"]) { "community_code = \($0)" }
    }
}
