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
        // Checked for every consumed record: plain ASCII names are read byte by byte.
        if let ascii = asciiWellFormed { return ascii }
        guard let version, version >= 1 else { return false }
        let words = family.split(separator: ".", omittingEmptySubsequences: false)
        return words.count >= 3 && words.allSatisfy { word in
            !word.isEmpty && word.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-" }
        }
    }
}

extension EventType {
    /// `isWellFormed` for an all-ASCII name, or `nil` when the name has other characters (whose
    /// letters and digits the general rule judges).
    var asciiWellFormed: Bool? {
        let bytes = Array(rawValue.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        guard let lastDot = bytes.lastIndex(of: UInt8(ascii: ".")), lastDot + 2 < bytes.count, bytes[lastDot + 1] == UInt8(ascii: "v"),
            let version = Int(String(decoding: bytes[(lastDot + 2)...], as: UTF8.self)), version >= 1
        else { return false }
        let words = bytes[..<lastDot].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return words.count >= 3 && words.allSatisfy { word in
            !word.isEmpty && word.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
        }
    }
}

/// A typed event body. Its `eventType` ties the Swift type to the wire name.
public protocol EventPayload: Codable, Sendable {
    static var eventType: EventType { get }
}
