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

    /// Where the slot lies in the week, in minutes from Monday 00:00; a slot running past 24:00 runs into the next day.
    public var weekStart: Int { (weekday - 1) * WeekMinutes.perDay + startMinute }
    public var length: Int { endMinute - startMinute }

    /// Whether this one slot covers the whole window, in the city's time zone.
    public func covers(_ window: TimeWindow, calendar: Calendar) -> Bool {
        WeekMinutes.span(of: window, calendar: calendar).map { Self.union([self], covers: $0) } ?? false
    }

    /// Whether the slots together cover every minute of the span, over the weekly cycle (Sunday 24:00 is Monday 00:00).
    /// It walks the span from its start: at each uncovered minute, the slot holding it that reaches furthest carries the walk on.
    public static func union(_ slots: [WeeklySlot], covers span: WeekSpan) -> Bool {
        let week = WeekMinutes.perWeek
        var covered = 0
        while covered < span.length {
            let minute = (span.start + covered) % week
            var reach = 0
            for slot in slots {
                let into = ((minute - slot.weekStart) % week + week) % week
                if into < slot.length { reach = max(reach, slot.length - into) }
            }
            guard reach > 0 else { return false }
            covered += reach
        }
        return true
    }
}

/// Minutes of the week, from Monday 00:00 (0) to Sunday 24:00 (10,080, which is Monday 00:00 again).
public enum WeekMinutes {
    public static let perDay = 24 * 60
    public static let perWeek = 7 * perDay

    /// The minutes a window asks for: its start as a minute of the week in the calendar's time zone (rounded down to the
    /// minute) and its length in whole minutes up to its end (rounded up). `nil` when no availability can cover it: a window
    /// that is empty or longer than seven days.
    public static func span(of window: TimeWindow, calendar: Calendar) -> WeekSpan? {
        let seconds = window.end.timeIntervalSince(window.start)
        guard seconds > 0, seconds <= Double(perWeek * 60) else { return nil }
        let start = calendar.dateComponents([.weekday, .hour, .minute], from: window.start)
        // Calendar weekdays run Sunday = 1 … Saturday = 7; the week here starts on Monday.
        let day = ((start.weekday ?? 1) + 5) % 7
        let firstMinute = (window.start.timeIntervalSinceReferenceDate / 60).rounded(.down)
        let endMinute = (window.end.timeIntervalSinceReferenceDate / 60).rounded(.up)
        return WeekSpan(
            start: day * perDay + (start.hour ?? 0) * 60 + (start.minute ?? 0), length: min(Int(endMinute - firstMinute), perWeek))
    }
}

/// A stretch of minutes of the week: from `start` (0 ..< 10,080) for `length` minutes (1 ... 10,080), wrapping from Sunday
/// into Monday.
public struct WeekSpan: Sendable, Hashable {
    public var start: Int
    public var length: Int

    public init(start: Int, length: Int) {
        self.start = start
        self.length = length
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
/// Candidates must be unpaused, have every required skill, be available and free (no confirmed assignment
/// overlapping a window). Available means that the union of the volunteer's weekly slots covers every minute of each
/// window of the need, in the city's time zone: `mon 09:00-12:00` and `mon 12:00-15:00` together cover 11:00–13:00, and
/// the week wraps, so `sun 22:00-24:00` and `mon 00:00-02:00` cover Sunday 23:00 to Monday 01:00. A window is taken
/// from its start rounded down to the minute to its end rounded up; a window longer than seven days is never covered.
/// The score, at most 110:
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
        ineligibility(of: volunteer, for: need, spans: need.windows.map { WeekMinutes.span(of: $0, calendar: calendar) })
    }

    /// `spans[i]` is the span of `need.windows[i]`, worked out once for all volunteers.
    static func ineligibility(of volunteer: VolunteerProfile, for need: NeedProfile, spans: [WeekSpan?]) -> Ineligibility? {
        if volunteer.paused { return .paused }
        if !need.skills.isSubset(of: volunteer.skills) { return .missingSkills(need.skills.subtracting(volunteer.skills)) }
        for (window, span) in zip(need.windows, spans) {
            guard let span, WeeklySlot.union(volunteer.availability, covers: span) else { return .unavailable(window) }
            if volunteer.busy.contains(where: { $0.overlaps(window) }) { return .doubleBooked(window) }
        }
        return nil
    }

    public static func score(_ volunteer: VolunteerProfile, for need: NeedProfile) -> Score {
        let nearness = need.place.nearness(to: volunteer.place)
        let wanted = need.skills.union([need.kind.rawValue])
        let continuity: Double = need.household.map { volunteer.households.contains($0) } == true ? 10 : 0
        return Score(
            place: placePoints(nearness), skills: skillPoints(matched: wanted.intersection(volunteer.skills).count, of: wanted.count),
            fairness: fairness(hoursThisMonth: volunteer.hoursThisMonth),
            reliability: reliability(completed: volunteer.completed, noShows: volunteer.noShows, averageRating: volunteer.averageRating),
            continuity: continuity, nearness: nearness)
    }

    static func placePoints(_ nearness: Nearness) -> Double {
        switch nearness {
        case .grid: 40
        case .community: 30
        case .street: 20
        case .district: 10
        case .elsewhere: 0
        }
    }

    static func skillPoints(matched: Int, of wanted: Int) -> Double { 20 * Double(matched) / Double(wanted) }

    static func fairness(hoursThisMonth: Double) -> Double { 20 * (1 - min(hoursThisMonth, fairnessHours) / fairnessHours) }

    static func reliability(completed: Int, noShows: Int, averageRating: Double?) -> Double {
        let completed = Double(max(completed, 1))
        let attendance = completed / (completed + Double(noShows))
        let rating = averageRating.map { 5 * (min(max($0, 1), 5) - 1) / 4 } ?? 2.5
        return 15 * attendance + rating
    }

    /// The eligible candidates, best first, at most `limit`.
    public static func rank(_ need: NeedProfile, among volunteers: [VolunteerProfile], calendar: Calendar, limit: Int = 10) -> [Match] {
        let spans = need.windows.map { WeekMinutes.span(of: $0, calendar: calendar) }
        var matches: [(match: Match, id: String)] = []
        matches.reserveCapacity(min(volunteers.count, 1024))
        for volunteer in volunteers where ineligibility(of: volunteer, for: need, spans: spans) == nil {
            matches.append((Match(volunteer: volunteer.id, score: score(volunteer, for: need)), volunteer.id.uuidString))
        }
        return matches.sorted { a, b in
            a.match.score.total != b.match.score.total ? a.match.score.total > b.match.score.total : a.id < b.id
        }.prefix(limit).map(\.match)
    }
}
