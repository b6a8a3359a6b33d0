import Foundation

// The mediation service's public contract on `mediation.events`: each event carries the case's
// current state (keyed by the case id), so consumers and dashboards upsert on the id.

/// A dispute case as other services and dashboards see it: no party contacts.
public struct CaseSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var category: String
    public var severity: String
    public var channel: String
    public var status: String
    /// `community`, `street` or `district`: who holds the case now.
    public var level: String
    /// The community, street or district code of that level.
    public var heldBy: String
    public var location: PlaceLocation
    public var mediatorId: UUID?
    public var reportedAt: Date
    public var deadlineAt: Date?
    public var specialNeeds: [String]

    public init(
        id: UUID, category: String, severity: String, channel: String, status: String, level: String, heldBy: String, location: PlaceLocation,
        mediatorId: UUID?, reportedAt: Date, deadlineAt: Date?, specialNeeds: [String]
    ) {
        self.id = id
        self.category = category
        self.severity = severity
        self.channel = channel
        self.status = status
        self.level = level
        self.heldBy = heldBy
        self.location = location
        self.mediatorId = mediatorId
        self.reportedAt = reportedAt
        self.deadlineAt = deadlineAt
        self.specialNeeds = specialNeeds
    }
}

/// One transition of a case: what was done, by whom, why. `type` of the event says which kind.
public struct CaseTransitioned: Codable, Sendable, Hashable {
    public var `case`: CaseSnapshot
    public var action: String
    public var actor: String
    public var reason: String?

    public init(case snapshot: CaseSnapshot, action: String, actor: String, reason: String?) {
        self.case = snapshot
        self.action = action
        self.actor = actor
        self.reason = reason
    }
}

/// The event types on `mediation.events`. All carry `CaseTransitioned`.
public enum MediationEventTypes {
    public static let reported: EventType = "mediation.case.reported.v1"
    public static let assigned: EventType = "mediation.case.assigned.v1"
    public static let escalated: EventType = "mediation.case.escalated.v1"
    /// An agreement was reached (调解协议).
    public static let resolved: EventType = "mediation.case.resolved.v1"
    public static let failed: EventType = "mediation.case.failed.v1"
    public static let closed: EventType = "mediation.case.closed.v1"
    /// The level holding the case let its deadline pass; the case escalates with the next event.
    public static let deadlineMissed: EventType = "mediation.case.deadline-missed.v1"
    /// Any other transition (accepted, mediation started, withdrawn, transferred, referred, reopened,
    /// follow-up recorded, reclassified).
    public static let changed: EventType = "mediation.case.changed.v1"

    public static let all: [EventType] = [reported, assigned, escalated, resolved, failed, closed, deadlineMissed, changed]
}
