import Contracts
import Foundation
import Kafka
import Logging
import PostgresNIO

/// A decoded event together with where it came from.
public struct InboundEvent: Sendable {
    public var event: CloudEvent
    public var message: ConsumedMessage
    /// What the handler's `prepare` made of the event ahead of `apply`, if anything.
    public var prepared: (any Sendable)?

    public init(event: CloudEvent, message: ConsumedMessage) {
        self.event = event
        self.message = message
    }

    /// The body as a record of `type` (for contracts where several event types share one record shape);
    /// a body that does not fit becomes a rejection (dead-lettered as `invalid`).
    public func decodeRecord<Record: Decodable>(_ type: Record.Type) throws(EventRejection) -> Record {
        do {
            return try EventCoding.decoder.decode(type, from: Data(event.data))
        } catch {
            throw EventRejection(
                eventID: event.id, reason: DeadLetterReason(kind: "invalid", detail: "data of \(event.type) is invalid: \(EventCoding.explain(error))"))
        }
    }

    /// The typed payload; a body that does not fit becomes a rejection (dead-lettered as `invalid`).
    public func decode<Payload: EventPayload>(_ type: Payload.Type) throws(EventRejection) -> Payload {
        do {
            return try event.decode(type)
        } catch {
            throw EventRejection(eventID: event.id, reason: DeadLetterReason(kind: error.kind, detail: error.description))
        }
    }
}

/// Several events of one batch that cannot be applied; the consumer dead-letters them and applies the rest.
public struct EventRejections: Error, Sendable, CustomStringConvertible {
    public var rejections: [EventRejection]

    public init(rejections: [EventRejection]) {
        self.rejections = rejections
    }

    public var description: String { rejections.map(\.description).joined(separator: "; ") }
}

/// What a consumer does with an event type.
public enum EventDisposition: Sendable {
    /// Apply it.
    case apply
    /// A known type this service does not need: skip it, commit past it.
    case ignore
    /// Not a type of this topic's contract: dead-letter it.
    case unknown

    /// For a projection of `registry.events`: apply the types it needs, skip the registry's other
    /// types, and dead-letter a type the registry does not publish (a contract break).
    public static func ofRegistryEvent(_ type: EventType, applying needed: Set<EventType>) -> EventDisposition {
        if needed.contains(type) { return .apply }
        return RegistryEventTypes.all.contains(type) ? .ignore : .unknown
    }
}

/// A handler's verdict that one event cannot be applied (schema-invalid, out of scope, ...).
/// The consumer dead-letters that event and applies the rest.
public struct EventRejection: Error, Sendable, CustomStringConvertible {
    public var eventID: UUID
    public var reason: DeadLetterReason

    public init(eventID: UUID, reason: DeadLetterReason) {
        self.eventID = eventID
        self.reason = reason
    }

    public var description: String { "event \(eventID) rejected: \(reason)" }
}

/// The service's side of consumption: which types it takes and how to apply them.
public protocol InboxHandler: Sendable {
    func disposition(for type: EventType) -> EventDisposition
    /// Applies events not seen before, in order, inside the transaction that records them in the inbox.
    /// Throw `EventRejection` (or `EventRejections`, naming every bad event found) for events that must
    /// be dead-lettered: the batch is rolled back and applied again without them. Any other error is
    /// treated as transient and the whole batch is retried.
    func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws
    /// Work that needs no database (decoding and checking records), kept in each event's `prepared`.
    /// The consumer runs it for the next batch while the current one is being written, so the two
    /// cores share the load; `apply` must still work on events that were not prepared.
    func prepare(_ events: [InboundEvent]) -> [InboundEvent]
}

extension InboxHandler {
    public func prepare(_ events: [InboundEvent]) -> [InboundEvent] { events }
}
