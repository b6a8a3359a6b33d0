import Foundation

/// The JSON shape a `Decodable` type reads: its keys, which are optional, and the kind of each value.
/// Found by decoding the type from a decoder that answers every question with a plausible value and
/// writes down what was asked, so the document tests compare the documents with the code itself.
indirect enum JSONShape: Equatable, CustomStringConvertible {
    case string, integer, number, boolean
    case object([String: Field])
    case array(JSONShape)
    /// A dictionary with free keys (`[String: Double]`).
    case map
    case unknown

    struct Field: Equatable {
        var shape: JSONShape
        var optional: Bool
    }

    var description: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .object(let fields): "object(\(fields.keys.sorted().joined(separator: ",")))"
        case .array(let element): "array(\(element))"
        case .map: "map"
        case .unknown: "unknown"
        }
    }

    static func of(_ type: any Decodable.Type) throws -> JSONShape {
        let recorder = ShapeRecorder()
        _ = try type.init(from: recorder)
        return recorder.shape
    }
}

private final class ShapeRecorder: Decoder {
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    var shape: JSONShape = .unknown
    var fields: [String: JSONShape.Field] = [:] {
        didSet { shape = .object(fields) }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        shape = .object(fields)
        return KeyedDecodingContainer(KeyedShape<Key>(recorder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = UnkeyedShape()
        shape = .array(.unknown)
        container.onElement = { [unowned self] element in self.shape = .array(element) }
        return container
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleShape(recorder: self)
    }
}

/// Values for the leaf types, and the shape each stands for.
private func leaf<T: Decodable>(_ type: T.Type) throws -> (T, JSONShape) {
    switch type {
    case is String.Type: return ("x" as! T, .string)
    case is UUID.Type: return (UUID() as! T, .string)
    case is Date.Type: return (Date() as! T, .string)
    case is URL.Type: return (URL(string: "https://example.org")! as! T, .string)
    case is Bool.Type: return (false as! T, .boolean)
    case is Int.Type: return (0 as! T, .integer)
    case is Int64.Type: return (Int64(0) as! T, .integer)
    case is Int32.Type: return (Int32(0) as! T, .integer)
    case is Double.Type: return (0.0 as! T, .number)
    case is Decimal.Type: return (Decimal(0) as! T, .number)
    default:
        let recorder = ShapeRecorder()
        let value = try T(from: recorder)
        // A free-keyed dictionary asks for no key at all.
        if case .object(let fields) = recorder.shape, fields.isEmpty, String(describing: T.self).hasPrefix("Dictionary<") {
            return (value, .map)
        }
        return (value, recorder.shape)
    }
}

private struct KeyedShape<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: ShapeRecorder
    var codingPath: [any CodingKey] = []
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (value, shape) = try leaf(type)
        recorder.fields[key.stringValue] = .init(shape: shape, optional: false)
        return value
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        let (value, shape) = try leaf(type)
        recorder.fields[key.stringValue] = .init(shape: shape, optional: true)
        return value
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try record(type, key) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try record(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try record(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try record(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try record(type, key) }

    private func record<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        let (value, shape) = try leaf(type)
        recorder.fields[key.stringValue] = .init(shape: shape, optional: true)
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not recorded")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not recorded")
    }

    func superDecoder() throws -> any Decoder { recorder }
    func superDecoder(forKey key: Key) throws -> any Decoder { recorder }
}

/// Offers one element, so the element's shape is recorded.
private final class UnkeyedShape: UnkeyedDecodingContainer {
    var codingPath: [any CodingKey] = []
    var count: Int? { 1 }
    var isAtEnd: Bool { currentIndex >= 1 }
    var currentIndex = 0
    var onElement: (JSONShape) -> Void = { _ in }

    func decodeNil() throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, shape) = try leaf(type)
        currentIndex += 1
        onElement(shape)
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "nested containers are not recorded"))
    }

    func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "nested containers are not recorded"))
    }

    func superDecoder() throws -> any Decoder { ShapeRecorder() }
}

private struct SingleShape: SingleValueDecodingContainer {
    let recorder: ShapeRecorder
    var codingPath: [any CodingKey] = []

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, shape) = try leaf(type)
        recorder.shape = shape
        return value
    }
}
