/// A versioned event type: `<domain>.<aggregate>.<what happened>.v<N>`, e.g. `registry.resident.registered.v1`.
///
/// Consumers ignore unknown fields, so adding a field is not a breaking change; a breaking change gets
/// a new `.vN` and both versions are published while consumers move over.
public struct EventType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }

    public var description: String { rawValue }

    /// The `N` of the `.vN` suffix, or `nil` when the name is not versioned.
    public var version: Int? {
        guard let dot = rawValue.lastIndex(of: "."),
            rawValue[rawValue.index(after: dot)...].hasPrefix("v")
        else { return nil }
        return Int(rawValue[rawValue.index(dot, offsetBy: 2)...])
    }

    /// The name without its version, e.g. `registry.resident.registered`.
    public var family: String {
        guard version != nil, let dot = rawValue.lastIndex(of: ".") else { return rawValue }
        return String(rawValue[..<dot])
    }

    /// Well-formed: lower-case dotted words, at least three of them before a `.vN` suffix.
    public var isWellFormed: Bool {
        guard let version, version >= 1 else { return false }
        let words = family.split(separator: ".", omittingEmptySubsequences: false)
        return words.count >= 3 && words.allSatisfy { word in
            !word.isEmpty && word.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-" }
        }
    }
}

/// A typed event body. Its `eventType` ties the Swift type to the wire name.
public protocol EventPayload: Codable, Sendable {
    static var eventType: EventType { get }
}
