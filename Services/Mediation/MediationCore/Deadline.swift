import Foundation

/// How long a level has to resolve a case. Operators keep these in a table per category, severity and
/// level; this is the rule one row holds.
public struct DeadlineRule: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// "Do not stay overnight": by 24:00 local time of the day reported; a case reported at or after
        /// `lateAfterHour` gets `lateHours` from the report instead.
        case sameDay = "same-day"
        /// Within `hours` of the report (or of the escalation that brought it to this level).
        case within
    }

    public var kind: Kind
    public var hours: Int
    public var lateAfterHour: Int

    public static func sameDay(lateAfterHour: Int = 20, lateHours: Int = 12) -> DeadlineRule {
        DeadlineRule(kind: .sameDay, hours: lateHours, lateAfterHour: lateAfterHour)
    }

    public static func within(hours: Int) -> DeadlineRule {
        DeadlineRule(kind: .within, hours: hours, lateAfterHour: 24)
    }

    public init(kind: Kind, hours: Int, lateAfterHour: Int) {
        self.kind = kind
        self.hours = hours
        self.lateAfterHour = lateAfterHour
    }

    /// Problems with a rule an operator wants to store, empty when it is usable.
    public var problems: [String] {
        var problems: [String] = []
        if !(1...24 * 90).contains(hours) { problems.append("hours must be from 1 to \(24 * 90)") }
        // Checked for every kind: a `within` rule does not use it, but the table keeps it and holds it to 0-24.
        if !(0...24).contains(lateAfterHour) { problems.append("lateAfterHour must be from 0 to 24") }
        return problems
    }

    /// When a case that reached this level at `start` is overdue, in `timeZone` (the city's).
    public func deadline(from start: Date, timeZone: TimeZone) -> Date {
        switch kind {
        case .within:
            return start.addingTimeInterval(TimeInterval(hours) * 3600)
        case .sameDay:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            let hour = calendar.component(.hour, from: start)
            if hour >= lateAfterHour { return start.addingTimeInterval(TimeInterval(hours) * 3600) }
            let startOfDay = calendar.startOfDay(for: start)
            return calendar.date(byAdding: .day, value: 1, to: startOfDay)!
        }
    }
}

/// The deadlines the city starts with (000: minor not overnight, major not out of the community);
/// the service copies them into its table, where operators change them.
public enum DefaultDeadlines {
    public static func rule(category: DisputeCategory, severity: Severity, level: MediationLevel) -> DeadlineRule {
        switch (severity, level) {
        case (.minor, .community): .sameDay()
        case (.minor, .street): .within(hours: 48)
        case (.minor, .district): .within(hours: 72)
        case (.major, .community): .within(hours: category == .demolitionRelocation || category == .labour ? 120 : 72)
        case (.major, .street): .within(hours: 168)
        case (.major, .district): .within(hours: 336)
        }
    }
}
