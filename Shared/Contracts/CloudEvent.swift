import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A CloudEvents 1.0 event as carried over Kafka in **binary content mode**.
///
/// The attributes travel as Kafka headers (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`,
/// `ce_subject`, `ce_time`, and `content-type: application/json`), the record value is the `data`
/// JSON alone, and the record key is the partition key (the aggregate id). Binary mode lets a consumer
/// route and de-duplicate on headers without parsing the body, and keeps the body a plain JSON
/// document an integrator can produce with any Kafka client.
public struct CloudEvent: Sendable, Hashable {
    public static let specVersion = "1.0"

    public var id: UUID
    /// `/registry`, `/mediation`, `/district/<code>`, …
    public var source: String
    public var type: EventType
    /// The aggregate id the event is about.
    public var subject: String?
    public var time: Date
    /// The JSON body.
    public var data: [UInt8]

    public init(id: UUID = UUID.random(), source: String, type: EventType, subject: String?, time: Date, data: [UInt8]) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.data = data
    }

    /// Builds an event from a typed payload.
    public init<Payload: EventPayload>(
        id: UUID = UUID.random(), source: String, subject: String?, time: Date, payload: Payload
    ) throws {
        self.init(id: id, source: source, type: Payload.eventType, subject: subject, time: time, data: try EventCoding.encode(payload))
    }

    /// The typed payload, or `EventDecodingError.invalidData` naming what did not fit.
    public func decode<Payload: EventPayload>(_: Payload.Type) throws(EventDecodingError) -> Payload {
        guard type == Payload.eventType else {
            throw .wrongType(expected: Payload.eventType.rawValue, actual: type.rawValue)
        }
        do {
            return try EventCoding.decoder.decode(Payload.self, from: Data(data))
        } catch {
            throw .invalidData(type: type.rawValue, reason: EventCoding.explain(error))
        }
    }
}

/// Names of the Kafka headers that carry CloudEvents attributes (Kafka protocol binding, binary mode).
public enum CloudEventHeader {
    public static let specVersion = "ce_specversion"
    public static let id = "ce_id"
    public static let source = "ce_source"
    public static let type = "ce_type"
    public static let subject = "ce_subject"
    public static let time = "ce_time"
    public static let contentType = "content-type"
    public static let jsonContentType = "application/json"
}

/// Why a Kafka record is not a usable event. The dead-letter topic carries `kind` in its headers.
public enum EventDecodingError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingAttribute(String)
    case badAttribute(name: String, value: String)
    case unsupportedSpecVersion(String)
    case wrongType(expected: String, actual: String)
    case invalidData(type: String, reason: String)

    /// A short, stable label for metrics and dead-letter headers.
    public var kind: String {
        switch self {
        case .missingAttribute, .badAttribute, .unsupportedSpecVersion: "undecodable"
        case .wrongType: "unknown_type"
        case .invalidData: "invalid"
        }
    }

    public var description: String {
        switch self {
        case .missingAttribute(let name): "missing CloudEvents attribute \(name)"
        case .badAttribute(let name, let value): "CloudEvents attribute \(name) has a bad value '\(value.prefix(80))'"
        case .unsupportedSpecVersion(let version): "CloudEvents specversion \(version) is not supported (use 1.0)"
        case .wrongType(let expected, let actual): "event type \(actual) where \(expected) was expected"
        case .invalidData(let type, let reason): "data of \(type) is invalid: \(reason)"
        }
    }
}

/// The JSON conventions every event body follows: ISO-8601 dates, unknown fields ignored.
public enum EventCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// `encoder`'s output, from the faster `SortedJSONEncoder`.
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        try SortedJSONEncoder.encode(value)
    }

    /// Turns a `DecodingError` into a sentence with the JSON path, for error headers and problem details.
    public static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the body" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return String(describing: error)
        }
    }
}

/// Random words from the system generator, fetched in bulk.
private struct RandomPool: ~Copyable {
    var words = [UInt64](repeating: 0, count: 512)
    var used = 512

    mutating func next() -> (UInt64, UInt64) {
        if used + 2 > words.count {
            words.withUnsafeMutableBytes { buffer in
                #if canImport(Glibc)
                // The kernel's generator through its device, one read per refill.
                let device = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
                precondition(device >= 0, "cannot open /dev/urandom: \(errno)")
                defer { close(device) }
                var filled = 0
                while filled < buffer.count {
                    let got = read(device, buffer.baseAddress! + filled, buffer.count - filled)
                    if got > 0 { filled += got } else { precondition(got < 0 && errno == EINTR, "cannot read /dev/urandom: \(errno)") }
                }
                #else
                arc4random_buf(buffer.baseAddress!, buffer.count)
                #endif
            }
            used = 0
        }
        defer { used += 2 }
        return (words[used], words[used + 1])
    }
}

private let randomPool = Mutex(RandomPool())

extension UUID {
    /// A random (version 4) UUID from the system generator, taken from a pool filled 4 KiB at a time.
    /// Foundation's `UUID()` on Linux opens `/dev/urandom` for every id (about 7 µs), and asking the
    /// kernel for each id's 16 bytes was still a system call apiece; every event, outbox row and record
    /// the services write gets one, hundreds of thousands in a district import.
    public static func random() -> UUID {
        let (high, low) = randomPool.withLock { $0.next() }
        return UUID(bytes: withUnsafeBytes(of: (high, low), Array.init), version: 4)
    }

    /// The first 16 of `bytes` as a UUID of `version` (4 random, 8 our own hashing), with the RFC 9562
    /// variant bits set.
    public init(bytes: some Sequence<UInt8>, version: UInt8) {
        var raw = Array(bytes.prefix(16))
        raw += Array(repeating: 0, count: 16 - raw.count)
        raw[6] = (raw[6] & 0x0F) | (version << 4)
        raw[8] = (raw[8] & 0x3F) | 0x80
        self.init(uuid: (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]))
    }
}
