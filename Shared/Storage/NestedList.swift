import Foundation

/// A list per row, for statements that insert many rows through `unnest`: PostgreSQL has no arrays
/// of arrays of different lengths, so each row's list travels as JSON text and the statement unpacks
/// it (`ARRAY(SELECT json_array_elements_text(x::json))`).
public enum NestedList {
    public static func json(_ items: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(items)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
