import Foundation

/// Kinds of service residents need (DOMAIN.md, "Volunteer service matching"; 001, 004).
public enum ServiceKind: String, Codable, Sendable, CaseIterable {
    case dayCare = "day-care"
    case elderCare = "elder-care"
    case mealDelivery = "meal-delivery"
    case afterSchoolCare = "after-school-care"
    case rehabilitation
    case nursing
    case tutoring
    case counselling
    case hardshipHelp = "hardship-help"
    case migrantWorkerTraining = "migrant-worker-training"
    case other
}

/// A stretch of time a need asks for, or an assignment holds.
public struct TimeWindow: Codable, Sendable, Hashable {
    public var start: Date
    public var end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }

    public func overlaps(_ other: TimeWindow) -> Bool { start < other.end && other.start < end }
}

/// A weekly slot a volunteer offers, as the registry carries it: `mon 09:00-12:00`.
public struct WeeklySlot: Codable, Sendable, Hashable {
    /// 1 = Monday … 7 = Sunday.
    public var weekday: Int
    public var startMinute: Int
    public var endMinute: Int

    static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    public init?(_ text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let day = Self.weekdays.firstIndex(of: String(parts[0])) else { return nil }
        let times = parts[1].split(separator: "-")
        guard times.count == 2, let from = Self.minutes(times[0]), let to = Self.minutes(times[1]), from < to else { return nil }
        weekday = day + 1
        startMinute = from
        endMinute = to
    }

    static func minutes(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...24).contains(hours), (0...59).contains(minutes) else { return nil }
        return hours * 60 + minutes
    }

    /// Whether the window lies inside this slot on its day, in the city's time zone.
    public func covers(_ window: TimeWindow, calendar: Calendar) -> Bool {
        let start = calendar.dateComponents([.weekday, .hour, .minute], from: window.start)
        // Calendar weekdays run Sunday = 1 … Saturday = 7.
        let weekday = ((start.weekday ?? 1) + 5) % 7 + 1
        guard weekday == self.weekday, calendar.isDate(window.start, inSameDayAs: window.end.addingTimeInterval(-1)) else { return false }
        let from = (start.hour ?? 0) * 60 + (start.minute ?? 0)
        let duration = Int(window.end.timeIntervalSince(window.start) / 60)
        return from >= startMinute && from + duration <= endMinute
    }
}

/// Where a need or a volunteer is, as far as the registry says.
public struct Whereabouts: Codable, Sendable, Hashable {
    public var grid: String?
    public var community: String?
    public var street: String?
    public var district: String?

    public init(grid: String? = nil, community: String? = nil, street: String? = nil, district: String? = nil) {
        self.grid = grid
        self.community = community
        self.street = street
        self.district = district
    }

    /// How near two places are: `grid` (same grid) … `district`, or `elsewhere`.
    public func nearness(to other: Whereabouts) -> Nearness {
        func same(_ a: String?, _ b: String?) -> Bool { a != nil && a == b }
        if same(grid, other.grid) { return .grid }
        if same(community, other.community) { return .community }
        if same(street, other.street) { return .street }
        if same(district, other.district) { return .district }
        return .elsewhere
    }
}

public enum Nearness: String, Codable, Sendable, CaseIterable {
    case grid, community, street, district, elsewhere
}

/// A need as the engine sees it.
public struct NeedProfile: Sendable, Hashable {
    public var id: UUID
    public var kind: ServiceKind
    public var skills: Set<String>
    public var place: Whereabouts
    public var windows: [TimeWindow]
    public var household: UUID?

    public init(id: UUID, kind: ServiceKind, skills: Set<String>, place: Whereabouts, windows: [TimeWindow], household: UUID? = nil) {
        self.id = id
        self.kind = kind
        self.skills = skills
        self.place = place
        self.windows = windows
        self.household = household
    }
}

/// A volunteer as the engine sees them.
public struct VolunteerProfile: Sendable, Hashable {
    public var id: UUID
    public var skills: Set<String>
    public var place: Whereabouts
    public var availability: [WeeklySlot]
    /// Windows of assignments already confirmed.
    public var busy: [TimeWindow]
    public var hoursThisMonth: Double
    public var completed: Int
    /// Unexcused absences only.
    public var noShows: Int
    /// 1–5 from recipients, `nil` before any rating.
    public var averageRating: Double?
    /// Households this volunteer already serves (one-to-one pairings, past assignments).
    public var households: Set<UUID>
    public var paused: Bool

    public init(
        id: UUID, skills: Set<String>, place: Whereabouts, availability: [WeeklySlot], busy: [TimeWindow] = [], hoursThisMonth: Double = 0,
        completed: Int = 0, noShows: Int = 0, averageRating: Double? = nil, households: Set<UUID> = [], paused: Bool = false
    ) {
        self.id = id
        self.skills = skills
        self.place = place
        self.availability = availability
        self.busy = busy
        self.hoursThisMonth = hoursThisMonth
        self.completed = completed
        self.noShows = noShows
        self.averageRating = averageRating
        self.households = households
        self.paused = paused
    }
}

/// Why a volunteer is not a candidate for a need.
public enum Ineligibility: Sendable, Hashable {
    case paused
    case missingSkills(Set<String>)
    case unavailable(TimeWindow)
    case doubleBooked(TimeWindow)
}

/// A candidate's score and its parts, so every match can be explained.
public struct Score: Codable, Sendable, Hashable {
    public var place: Double
    public var skills: Double
    public var fairness: Double
    public var reliability: Double
    public var continuity: Double
    public var nearness: Nearness

    public var total: Double { place + skills + fairness + reliability + continuity }
}

public struct Match: Sendable, Hashable {
    public var volunteer: UUID
    public var score: Score
}

/// The matching engine: who may serve a need, and in what order to ask them.
///
/// Candidates must be unpaused, have every required skill, be available (a weekly slot covering each
/// window of the need) and free (no confirmed assignment overlapping a window). The score, at most 110:
/// - **place** — same grid 40, community 30, street 20, district 10, elsewhere 0;
/// - **skills** — up to 20: the share of the need's skills and kind the volunteer has (the kind counts
///   as a skill: an `elder-care` volunteer for an elder-care need);
/// - **fairness** — up to 20, falling linearly to 0 at 40 hours given this month, so the same people
///   are not always asked;
/// - **reliability** — up to 20: 15 × completed / (completed + no-shows), with one completion assumed
///   for newcomers, plus 5 × (rating − 1) / 4 (2.5 before any rating);
/// - **continuity** — 10 when the volunteer already serves the household.
/// Ties go to the smaller id, so the same data always ranks the same way.
public enum Matching {
    public static let fairnessHours = 40.0

    public static func ineligibility(of volunteer: VolunteerProfile, for need: NeedProfile, calendar: Calendar) -> Ineligibility? {
        if volunteer.paused { return .paused }
        let missing = need.skills.subtracting(volunteer.skills)
        if !missing.isEmpty { return .missingSkills(missing) }
        for window in need.windows {
            if !volunteer.availability.contains(where: { $0.covers(window, calendar: calendar) }) { return .unavailable(window) }
            if volunteer.busy.contains(where: { $0.overlaps(window) }) { return .doubleBooked(window) }
        }
        return nil
    }

    public static func score(_ volunteer: VolunteerProfile, for need: NeedProfile) -> Score {
        let nearness = need.place.nearness(to: volunteer.place)
        let place: Double =
            switch nearness {
            case .grid: 40
            case .community: 30
            case .street: 20
            case .district: 10
            case .elsewhere: 0
            }
        let wanted = need.skills.union([need.kind.rawValue])
        let skills = 20 * Double(wanted.intersection(volunteer.skills).count) / Double(wanted.count)
        let fairness = 20 * (1 - min(volunteer.hoursThisMonth, fairnessHours) / fairnessHours)
        let completed = Double(max(volunteer.completed, 1))
        let attendance = completed / (completed + Double(volunteer.noShows))
        let rating = volunteer.averageRating.map { 5 * (min(max($0, 1), 5) - 1) / 4 } ?? 2.5
        let continuity: Double = need.household.map { volunteer.households.contains($0) } == true ? 10 : 0
        return Score(place: place, skills: skills, fairness: fairness, reliability: 15 * attendance + rating, continuity: continuity, nearness: nearness)
    }

    /// The eligible candidates, best first, at most `limit`.
    public static func rank(_ need: NeedProfile, among volunteers: [VolunteerProfile], calendar: Calendar, limit: Int = 10) -> [Match] {
        var matches: [Match] = []
        matches.reserveCapacity(min(volunteers.count, 1024))
        for volunteer in volunteers where ineligibility(of: volunteer, for: need, calendar: calendar) == nil {
            matches.append(Match(volunteer: volunteer.id, score: score(volunteer, for: need)))
        }
        return Array(
            matches.sorted { a, b in
                a.score.total != b.score.total ? a.score.total > b.score.total : a.volunteer.uuidString < b.volunteer.uuidString
            }.prefix(limit))
    }
}
