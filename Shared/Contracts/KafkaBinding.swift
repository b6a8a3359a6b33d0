import Foundation

/// Maps a `CloudEvent` to and from the attribute headers of a Kafka record (binary content mode).
/// Kept free of any Kafka client type so the mapping is testable on its own.
public enum CloudEventKafkaBinding {
    /// The headers to attach to a record carrying `event`, as (name, value) pairs.
    public static func headers(for event: CloudEvent) -> [(String, String)] {
        var headers: [(String, String)] = [
            (CloudEventHeader.specVersion, CloudEvent.specVersion),
            (CloudEventHeader.id, event.id.uuidString.lowercased()),
            (CloudEventHeader.source, event.source),
            (CloudEventHeader.type, event.type.rawValue),
            (CloudEventHeader.time, formatTime(event.time)),
            (CloudEventHeader.contentType, CloudEventHeader.jsonContentType),
        ]
        if let subject = event.subject {
            headers.append((CloudEventHeader.subject, subject))
        }
        return headers
    }

    /// Reads an event from a record's headers and value. `header` returns the last value of a header.
    public static func event(value: [UInt8]?, header: (String) -> String?) throws(EventDecodingError) -> CloudEvent {
        guard let specVersion = header(CloudEventHeader.specVersion) else {
            throw .missingAttribute(CloudEventHeader.specVersion)
        }
        guard specVersion == CloudEvent.specVersion else { throw .unsupportedSpecVersion(specVersion) }
        guard let idText = header(CloudEventHeader.id) else { throw .missingAttribute(CloudEventHeader.id) }
        guard let id = UUID(uuidString: idText) else { throw .badAttribute(name: CloudEventHeader.id, value: idText) }
        guard let source = header(CloudEventHeader.source), !source.isEmpty else {
            throw .missingAttribute(CloudEventHeader.source)
        }
        guard let typeText = header(CloudEventHeader.type) else { throw .missingAttribute(CloudEventHeader.type) }
        let type = EventType(rawValue: typeText)
        guard type.isWellFormed else { throw .badAttribute(name: CloudEventHeader.type, value: typeText) }
        var time = Date(timeIntervalSince1970: 0)
        if let timeText = header(CloudEventHeader.time) {
            guard let parsed = parseTime(timeText) else { throw .badAttribute(name: CloudEventHeader.time, value: timeText) }
            time = parsed
        } else {
            throw .missingAttribute(CloudEventHeader.time)
        }
        if let contentType = header(CloudEventHeader.contentType), !contentType.hasPrefix(CloudEventHeader.jsonContentType) {
            throw .badAttribute(name: CloudEventHeader.contentType, value: contentType)
        }
        guard let value, !value.isEmpty else { throw .missingAttribute("data") }
        return CloudEvent(id: id, source: source, type: type, subject: header(CloudEventHeader.subject), time: time, data: value)
    }

    /// `2026-11-24T03:35:51.123Z`.
    public static func formatTime(_ date: Date) -> String {
        UTCTimestamp.string(date, milliseconds: true)
    }

    /// RFC 3339 with or without fractional seconds.
    public static func parseTime(_ text: String) -> Date? {
        if let date = UTCTimestamp.parse(text) { return date }
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted).dateSeparator(.dash).timeSeparator(.colon)) {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }
}
