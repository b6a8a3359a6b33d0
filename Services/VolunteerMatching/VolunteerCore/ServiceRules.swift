import Foundation

/// How soon a need must be met. It sets how long a volunteer has to answer an offer and how many
/// volunteers are asked at once for each open seat: an urgent need asks three and waits 20 minutes.
public enum Urgency: String, Codable, Sendable, CaseIterable {
    case routine, soon, urgent

    public var offerLifetime: TimeInterval {
        switch self {
        case .routine: 24 * 3600
        case .soon: 2 * 3600
        case .urgent: 20 * 60
        }
    }

    public var offersPerSeat: Int {
        switch self {
        case .routine: 1
        case .soon: 2
        case .urgent: 3
        }
    }
}

/// Why a need's time was refused.
public struct WindowProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var description: String { "\(field): \(problem)" }

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
}

/// The times a need asks for: one-off windows, or a weekly schedule expanded into windows.
public enum NeedWindows {
    public static let maximumWindows = 60
    public static let longestWindow: TimeInterval = 12 * 3600
    /// A need is for the coming months, not for years ahead.
    public static let horizon: TimeInterval = 366 * 24 * 3600

    /// Every occurrence of `slots` from `from` to `until` (days, both included) in `calendar`'s zone.
    public static func expand(slots: [WeeklySlot], from: DateComponents, until: DateComponents, calendar: Calendar) throws(WindowProblem) -> [TimeWindow] {
        guard let first = calendar.date(from: from), let last = calendar.date(from: until) else {
            throw WindowProblem(field: "schedule", problem: "from and until must be days as YYYY-MM-DD")
        }
        guard first <= last else { throw WindowProblem(field: "schedule.until", problem: "must not be before from") }
        var windows: [TimeWindow] = []
        var day = calendar.startOfDay(for: first)
        while day <= last {
            // Calendar weekdays run Sunday = 1 … Saturday = 7; slots Monday = 1 … Sunday = 7.
            let weekday = (calendar.component(.weekday, from: day) + 5) % 7 + 1
            for slot in slots where slot.weekday == weekday {
                let start = day.addingTimeInterval(TimeInterval(slot.startMinute * 60))
                windows.append(TimeWindow(start: start, end: day.addingTimeInterval(TimeInterval(slot.endMinute * 60))))
                if windows.count > maximumWindows {
                    throw WindowProblem(field: "schedule", problem: "expands to more than \(maximumWindows) occurrences; split it into shorter periods")
                }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            day = next
        }
        guard !windows.isEmpty else { throw WindowProblem(field: "schedule", problem: "no slot falls between from and until") }
        return windows
    }

    /// Checks windows as a need may hold them, and returns them in time order.
    public static func validate(_ windows: [TimeWindow], now: Date, field: String = "windows") throws(WindowProblem) -> [TimeWindow] {
        guard !windows.isEmpty else { throw WindowProblem(field: field, problem: "name at least one window, or a schedule") }
        guard windows.count <= maximumWindows else { throw WindowProblem(field: field, problem: "at most \(maximumWindows) windows") }
        let sorted = windows.sorted { $0.start < $1.start }
        for (index, window) in sorted.enumerated() {
            if window.end <= window.start { throw WindowProblem(field: "\(field)[\(index)]", problem: "must end after it starts") }
            if window.end.timeIntervalSince(window.start) > longestWindow {
                throw WindowProblem(field: "\(field)[\(index)]", problem: "is longer than 12 hours; split it")
            }
            if window.end <= now { throw WindowProblem(field: "\(field)[\(index)]", problem: "is over already") }
            if window.start.timeIntervalSince(now) > horizon { throw WindowProblem(field: "\(field)[\(index)]", problem: "is more than a year ahead") }
            if index > 0, sorted[index - 1].overlaps(window) { throw WindowProblem(field: "\(field)[\(index)]", problem: "overlaps another window") }
        }
        return sorted
    }
}

/// Hours of one service, from check-in to check-out, rounded to the nearest quarter hour.
public enum ServiceHours {
    public static let longestService: TimeInterval = 16 * 3600

    public static func between(_ checkIn: Date, _ checkOut: Date) -> Double? {
        let seconds = checkOut.timeIntervalSince(checkIn)
        guard seconds > 0, seconds <= longestService else { return nil }
        return (seconds / 900).rounded() / 4
    }
}

/// Verification of a service record: `pending` → `approved` | `rejected`. An approved record is
/// locked; a rejected one may be looked at again (after a correction) and approved.
public enum Verification: String, Codable, Sendable {
    case open, pending, approved, rejected

    public func deciding(approve: Bool) -> Verification? {
        switch self {
        case .pending, .rejected: approve ? .approved : .rejected
        case .open, .approved: nil
        }
    }
}
