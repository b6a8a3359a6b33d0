import Contracts
import Foundation
import Testing

/// `SortedJSONEncoder` must write what Foundation's encoder (as `EventCoding` sets it up) writes, byte
/// for byte: consumers, the outbox and stored documents were all written by the latter.
@Suite struct SortedJSONEncoderMatchesFoundation {
    static func foundation<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try EventCoding.encoder.encode(value), as: UTF8.self)
    }

    static func ours<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try SortedJSONEncoder.encode(value), as: UTF8.self)
    }

    @Test func everyEventRecordOfTheCatalogueWithVariedValues() throws {
        var checked = 0
        for entry in EventCatalogue.entries.values.flatMap({ $0 }) {
            for seed in 0..<25 {
                let value = try SampleDecoder.sample(entry.payload, seed: UInt64(seed))
                let foundation = try Self.foundation(value), ours = try Self.ours(value)
                #expect(ours == foundation, "\(entry.type) seed \(seed)")
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    @Test func stringsWithEveryEscapeAndNonASCII() throws {
        var strings = (0..<128).map { String(UnicodeScalar(UInt8($0))) }
        strings += ["a/b", "\u{2028}\u{2029}", "居民 中文", "emoji 🏘️", "\u{7F}\u{80}\u{FFFF}", "tab\tnew\nline\r\"q\"\\", ""]
        for string in strings {
            #expect(try Self.ours(string) == Self.foundation(string))
            #expect(try Self.ours(["k\(string)": string]) == Self.foundation(["k\(string)": string]))
        }
    }

    @Test func numbersAsFoundationWritesThem() throws {
        let doubles: [Double] = [
            0, -0.0, 1, -1, 0.1, 0.5, 1.5, 2.0 / 3, 100, 1e15, 1e16, 1e17, 123_456_789_012_345_680, 1e21, 1e22, 1e-5, 1e-7, .leastNonzeroMagnitude,
            .greatestFiniteMagnitude, 0.30000000000000004, 12.345, -987.0,
        ]
        for value in doubles { #expect(try Self.ours(value) == Self.foundation(value), "\(value)") }
        let floats: [Float] = [0.1, 1, 1.5, 3.4e38, 1e-7]
        for value in floats { #expect(try Self.ours(value) == Self.foundation(value), "\(value)") }
        let integers: [Int64] = [0, -1, .max, .min, 42]
        for value in integers { #expect(try Self.ours(value) == Self.foundation(value)) }
        #expect(try Self.ours(UInt64.max) == Self.foundation(UInt64.max))
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode([Double.infinity]) }
    }

    @Test func datesInWholeSecondsUTC() throws {
        let dates = [0, 1, -1, 1.999, 951_782_400, 1_795_000_000.75, -86_401, 4_102_444_800, 253_402_300_799].map(Date.init(timeIntervalSince1970:))
        for date in dates { #expect(try Self.ours(["at": date]) == Self.foundation(["at": date]), "\(date.timeIntervalSince1970)") }
    }

    @Test func containersOfEveryKind() throws {
        struct Odd: Encodable {
            func encode(to encoder: any Encoder) throws {
                var keyed = encoder.container(keyedBy: AnyKey.self)
                try keyed.encode("late", forKey: AnyKey("zeta"))
                try keyed.encodeNil(forKey: AnyKey("nothing"))
                var nested = keyed.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("Alpha"))
                try nested.encode(true, forKey: AnyKey("b"))
                try nested.encode(1, forKey: AnyKey("a"))
                var list = keyed.nestedUnkeyedContainer(forKey: AnyKey("list"))
                try list.encode(1)
                try list.encodeNil()
                var inner = list.nestedContainer(keyedBy: AnyKey.self)
                try inner.encode(URL(string: "https://example.org/a/b")!, forKey: AnyKey("url"))
                try inner.encode(Data([0, 1, 2, 250]), forKey: AnyKey("data"))
                try inner.encode(Decimal(string: "12.50")!, forKey: AnyKey("amount"))
                var deeper = list.nestedUnkeyedContainer()
                try deeper.encode("x")
                try keyed.encode("twice", forKey: AnyKey("dup"))
                try keyed.encode("last", forKey: AnyKey("dup"))
            }
        }
        struct Wrapper: Encodable {
            var inner: [String: [Int]]
            func encode(to encoder: any Encoder) throws {
                var single = encoder.singleValueContainer()
                try single.encode(inner)
            }
        }
        #expect(try Self.ours(Odd()) == Self.foundation(Odd()))
        #expect(try Self.ours(Wrapper(inner: ["b": [2, 1], "a": []])) == Self.foundation(Wrapper(inner: ["b": [2, 1], "a": []])))
        #expect(try Self.ours([Wrapper(inner: [:])]) == Self.foundation([Wrapper(inner: [:])]))
        #expect(try Self.ours([[String]]()) == Self.foundation([[String]]()))
        #expect(try Self.ours(["B": 1, "a": 2, "A": 3, "b": 4, "ab": 5, "a_": 6]) == Self.foundation(["B": 1, "a": 2, "A": 3, "b": 4, "ab": 5, "a_": 6]))
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A `Decoder` that makes up a value of any `Decodable` type from a seed: strings with escapes and
/// non-ASCII text, doubles of every form, dates with fractions, optionals now present, now absent.
private final class SampleDecoder: Decoder {
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }

    static func sample(_ type: any Decodable.Type, seed: UInt64) throws -> any Encodable {
        let decoder = SampleDecoder(seed: seed)
        guard let value = try type.init(from: decoder) as? any Encodable else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not encodable")) }
        return value
    }

    func next(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
    }

    static let strings = ["x", "a/b", "居民 \"中\"", "line\nbreak\t\u{1}", "", "https://example.org/x?y=1", "\\", "🏘️"]
    static let doubles: [Double] = [0, 1, 0.5, 2.0 / 3, 1e21, 1e-7, 42, -3.25, 123_456.789]

    func leaf<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is String.Type: return Self.strings[next(Self.strings.count)] as! T
        case is UUID.Type: return UUID() as! T
        case is Date.Type: return Date(timeIntervalSince1970: Double(next(2_000_000_000)) + Double(next(1000)) / 1000) as! T
        case is URL.Type: return URL(string: "https://example.org/\(next(100))")! as! T
        case is Bool.Type: return (next(2) == 0) as! T
        case is Int.Type: return (next(2_000_000) - 1_000_000) as! T
        case is Int64.Type: return Int64(next(2_000_000)) as! T
        case is Int32.Type: return Int32(next(2000)) as! T
        case is Double.Type: return Self.doubles[next(Self.doubles.count)] as! T
        case is Decimal.Type: return Decimal(next(100_000)) / 100 as! T
        default: return try T(from: self)
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(SampleKeyed<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { SampleUnkeyed(decoder: self, count: next(4)) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { SampleSingle(decoder: self) }
}

private struct SampleKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: SampleDecoder
    var codingPath: [any CodingKey] = []
    /// Free-keyed dictionaries ask which keys there are.
    var allKeys: [Key] { (0..<decoder.next(4)).compactMap { Key(stringValue: ["b", "a", "Z", "a2", "中"][$0]) } }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder.leaf(type) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        decoder.next(3) == 0 ? nil : try decoder.leaf(type)
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try decoder.unkeyedContainer() }
    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
}

private final class SampleUnkeyed: UnkeyedDecodingContainer {
    let decoder: SampleDecoder
    var codingPath: [any CodingKey] = []
    let count: Int?
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    init(decoder: SampleDecoder, count: Int) {
        self.decoder = decoder
        self.count = count
    }

    func decodeNil() throws -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        return try decoder.leaf(type)
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        currentIndex += 1
        return try decoder.container(keyedBy: type)
    }
    func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        currentIndex += 1
        return try decoder.unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder { decoder }
}

private struct SampleSingle: SingleValueDecodingContainer {
    let decoder: SampleDecoder
    var codingPath: [any CodingKey] = []
    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.leaf(type) }
}

/// Header times are written and read by arithmetic; Foundation's format styles are the reference.
@Suite struct UTCTimestampMatchesFoundation {
    static let style = Date.ISO8601FormatStyle().year().month().day().timeZone(separator: .omitted).time(includingFractionalSeconds: true)
        .timeSeparator(.colon).dateSeparator(.dash)

    static var dates: [Date] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var dates = [0, 0.001, 0.9999, -0.5, -1, -86_400.25, 951_782_400.5, 1_795_000_000.123, 4_102_444_799.999, 253_402_300_799]
            .map(Date.init(timeIntervalSince1970:))
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            dates.append(Date(timeIntervalSince1970: Double(state >> 20 % 8_000_000_000_000) / 1000 - 2_000_000_000))
        }
        return dates
    }

    @Test func writtenWithMillisecondsAsTheFormatStyle() {
        for date in Self.dates {
            #expect(UTCTimestamp.string(date, milliseconds: true) == date.formatted(Self.style), "\(date.timeIntervalSince1970)")
        }
    }

    @Test func readBackAsFoundationReadsThem() throws {
        for date in Self.dates {
            for text in [date.formatted(Self.style), UTCTimestamp.string(date, milliseconds: false)] {
                let ours = try #require(UTCTimestamp.parse(text), "\(text)")
                let foundation = try (try? Date(text, strategy: Self.style)) ?? Date(text, strategy: .iso8601)
                #expect(abs(ours.timeIntervalSince1970 - foundation.timeIntervalSince1970) < 0.000_5, "\(text)")
            }
        }
    }

    @Test(arguments: [
        "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T03:35:51+08:00", "2026-11-24 03:35:51Z",
        "2026-11-24T03:35:51.Z", "2026-11-24T03:35:5aZ", "2026-11-24T03:35:51z", "2026-11-24T03:35:51",
    ])
    func leavesEverythingElseToFoundation(text: String) {
        #expect(UTCTimestamp.parse(text) == nil)
    }

    @Test func offsetsStillParseThroughTheBinding() throws {
        let date = try #require(CloudEventKafkaBinding.parseTime("2026-11-24T11:35:51+08:00"))
        #expect(UTCTimestamp.string(date, milliseconds: false) == "2026-11-24T03:35:51Z")
    }
}
