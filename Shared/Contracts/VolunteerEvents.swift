import Foundation

// The volunteer-matching service's public contract on `volunteer.events`. Need events are keyed by
// the need id; offer, assignment and service events by the volunteer's id, so one volunteer's story
// stays in order. No contact details of a household ever appear here.

/// A service need as others see it: what, where, when, how many; never who to call.
public struct NeedSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var kind: String
    public var skills: [String]
    public var location: PlaceLocation
    public var householdId: UUID?
    public var residentId: UUID?
    public var windows: [ServiceWindow]
    public var volunteers: Int
    public var urgency: String
    /// `open`, `filled`, `cancelled`.
    public var status: String
    public var confirmed: Int
    public var openedAt: Date

    public init(
        id: UUID, kind: String, skills: [String], location: PlaceLocation, householdId: UUID?, residentId: UUID?, windows: [ServiceWindow],
        volunteers: Int, urgency: String, status: String, confirmed: Int, openedAt: Date
    ) {
        self.id = id
        self.kind = kind
        self.skills = skills
        self.location = location
        self.householdId = householdId
        self.residentId = residentId
        self.windows = windows
        self.volunteers = volunteers
        self.urgency = urgency
        self.status = status
        self.confirmed = confirmed
        self.openedAt = openedAt
    }
}

/// `volunteer.need.opened.v1`, `volunteer.need.filled.v1`, `volunteer.need.cancelled.v1`.
public struct NeedChanged: Codable, Sendable, Hashable {
    public var need: NeedSnapshot
    public var reason: String?

    public init(need: NeedSnapshot, reason: String? = nil) {
        self.need = need
        self.reason = reason
    }
}

/// The parts of a candidate's score (see the matching service's documentation).
public struct ScoreParts: Codable, Sendable, Hashable {
    public var total: Double
    public var place: Double
    public var skills: Double
    public var fairness: Double
    public var reliability: Double
    public var continuity: Double
    /// `grid`, `community`, `street`, `district` or `elsewhere`.
    public var nearness: String

    public init(total: Double, place: Double, skills: Double, fairness: Double, reliability: Double, continuity: Double, nearness: String) {
        self.total = total
        self.place = place
        self.skills = skills
        self.fairness = fairness
        self.reliability = reliability
        self.continuity = continuity
        self.nearness = nearness
    }
}

/// An offer to one volunteer for one need.
public struct OfferSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var needId: UUID
    public var volunteerId: UUID
    /// `pending`, `accepted`, `declined`, `expired`, `withdrawn`.
    public var status: String
    /// 1 for the best candidate asked for this need, 2 for the next, ...
    public var rank: Int
    public var score: ScoreParts
    public var offeredAt: Date
    public var expiresAt: Date
    public var answeredAt: Date?
    public var reason: String?

    public init(
        id: UUID, needId: UUID, volunteerId: UUID, status: String, rank: Int, score: ScoreParts, offeredAt: Date, expiresAt: Date,
        answeredAt: Date?, reason: String?
    ) {
        self.id = id
        self.needId = needId
        self.volunteerId = volunteerId
        self.status = status
        self.rank = rank
        self.score = score
        self.offeredAt = offeredAt
        self.expiresAt = expiresAt
        self.answeredAt = answeredAt
        self.reason = reason
    }
}

/// `volunteer.offer.made.v1`, `volunteer.offer.declined.v1`, `volunteer.offer.expired.v1`, `volunteer.offer.withdrawn.v1`.
public struct OfferChanged: Codable, Sendable, Hashable {
    public var offer: OfferSnapshot
    public init(offer: OfferSnapshot) { self.offer = offer }
}

/// A volunteer confirmed for a need.
public struct AssignmentSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var needId: UUID
    public var volunteerId: UUID
    public var householdId: UUID?
    /// `confirmed`, `cancelled`.
    public var status: String
    public var windows: [ServiceWindow]
    public var confirmedAt: Date
    public var cancelledBy: String?
    public var cancelReason: String?

    public init(
        id: UUID, needId: UUID, volunteerId: UUID, householdId: UUID?, status: String, windows: [ServiceWindow], confirmedAt: Date,
        cancelledBy: String?, cancelReason: String?
    ) {
        self.id = id
        self.needId = needId
        self.volunteerId = volunteerId
        self.householdId = householdId
        self.status = status
        self.windows = windows
        self.confirmedAt = confirmedAt
        self.cancelledBy = cancelledBy
        self.cancelReason = cancelReason
    }
}

/// `volunteer.assignment.confirmed.v1`, `volunteer.assignment.cancelled.v1`.
public struct AssignmentChanged: Codable, Sendable, Hashable {
    public var assignment: AssignmentSnapshot
    public init(assignment: AssignmentSnapshot) { self.assignment = assignment }
}

/// One service given: checked in and out, hours, their verification and ratings.
public struct ServiceRecordSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var assignmentId: UUID
    public var needId: UUID
    public var volunteerId: UUID
    public var householdId: UUID?
    public var windowStart: Date
    public var checkedInAt: Date
    public var checkedOutAt: Date?
    public var hours: Double?
    /// `open` (checked in), `pending`, `approved`, `rejected`.
    public var verification: String
    public var verifiedBy: String?
    public var recipientRating: Int?
    public var volunteerRating: Int?

    public init(
        id: UUID, assignmentId: UUID, needId: UUID, volunteerId: UUID, householdId: UUID?, windowStart: Date, checkedInAt: Date,
        checkedOutAt: Date?, hours: Double?, verification: String, verifiedBy: String?, recipientRating: Int?, volunteerRating: Int?
    ) {
        self.id = id
        self.assignmentId = assignmentId
        self.needId = needId
        self.volunteerId = volunteerId
        self.householdId = householdId
        self.windowStart = windowStart
        self.checkedInAt = checkedInAt
        self.checkedOutAt = checkedOutAt
        self.hours = hours
        self.verification = verification
        self.verifiedBy = verifiedBy
        self.recipientRating = recipientRating
        self.volunteerRating = volunteerRating
    }
}

/// `volunteer.service.completed.v1` (checked out, with hours), `volunteer.service.verified.v1`.
public struct ServiceRecorded: Codable, Sendable, Hashable {
    public var record: ServiceRecordSnapshot
    public init(record: ServiceRecordSnapshot) { self.record = record }
}

/// `volunteer.absence.recorded.v1` (excused) and `volunteer.assignment.no-show.v1` (unexcused).
public struct AbsenceRecorded: Codable, Sendable, Hashable {
    public var assignmentId: UUID
    public var needId: UUID
    public var volunteerId: UUID
    public var windowStart: Date
    public var excused: Bool
    public var reason: String?
    public var recordedBy: String

    public init(assignmentId: UUID, needId: UUID, volunteerId: UUID, windowStart: Date, excused: Bool, reason: String?, recordedBy: String) {
        self.assignmentId = assignmentId
        self.needId = needId
        self.volunteerId = volunteerId
        self.windowStart = windowStart
        self.excused = excused
        self.reason = reason
        self.recordedBy = recordedBy
    }
}

/// `volunteer.reminder.due.v1`: a confirmed service starts soon; a notification system tells the volunteer.
public struct ReminderDue: Codable, Sendable, Hashable {
    public var assignmentId: UUID
    public var needId: UUID
    public var volunteerId: UUID
    public var kind: String
    public var window: ServiceWindow
    public var location: PlaceLocation

    public init(assignmentId: UUID, needId: UUID, volunteerId: UUID, kind: String, window: ServiceWindow, location: PlaceLocation) {
        self.assignmentId = assignmentId
        self.needId = needId
        self.volunteerId = volunteerId
        self.kind = kind
        self.window = window
        self.location = location
    }
}

/// The event types on `volunteer.events` and the payload each carries.
public enum VolunteerEventTypes {
    /// `NeedChanged`.
    public static let needOpened: EventType = "volunteer.need.opened.v1"
    public static let needFilled: EventType = "volunteer.need.filled.v1"
    public static let needReopened: EventType = "volunteer.need.reopened.v1"
    public static let needCancelled: EventType = "volunteer.need.cancelled.v1"
    /// `OfferChanged`.
    public static let offerMade: EventType = "volunteer.offer.made.v1"
    public static let offerDeclined: EventType = "volunteer.offer.declined.v1"
    public static let offerExpired: EventType = "volunteer.offer.expired.v1"
    public static let offerWithdrawn: EventType = "volunteer.offer.withdrawn.v1"
    /// `AssignmentChanged`.
    public static let assignmentConfirmed: EventType = "volunteer.assignment.confirmed.v1"
    public static let assignmentCancelled: EventType = "volunteer.assignment.cancelled.v1"
    /// `ServiceRecorded`.
    public static let serviceCompleted: EventType = "volunteer.service.completed.v1"
    public static let serviceVerified: EventType = "volunteer.service.verified.v1"
    /// `AbsenceRecorded`.
    public static let absenceRecorded: EventType = "volunteer.absence.recorded.v1"
    public static let noShow: EventType = "volunteer.assignment.no-show.v1"
    /// `ReminderDue`.
    public static let reminderDue: EventType = "volunteer.reminder.due.v1"

    public static let all: [EventType] = [
        needOpened, needFilled, needReopened, needCancelled, offerMade, offerDeclined, offerExpired, offerWithdrawn, assignmentConfirmed,
        assignmentCancelled, serviceCompleted, serviceVerified, absenceRecorded, noShow, reminderDue,
    ]
}
