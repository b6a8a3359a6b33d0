import Foundation
import Testing
import VolunteerCore

@Suite struct MatchingEngine {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }()
    static func time(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    /// Monday 2026-11-23, 09:30–11:00 in Shanghai.
    static let window = TimeWindow(start: time("2026-11-23T09:30:00+08:00"), end: time("2026-11-23T11:00:00+08:00"))
    static let household = UUID()
    static let need = NeedProfile(
        id: UUID(), kind: .elderCare, skills: ["first-aid"], place: Whereabouts(grid: "G1", community: "C1", street: "S1", district: "D1"),
        windows: [window], household: household)

    static func volunteer(
        _ id: Int, grid: String? = nil, community: String = "C9", street: String = "S9", skills: Set<String> = ["first-aid"],
        slots: [String] = ["mon 09:00-12:00"], hours: Double = 0, completed: Int = 0, noShows: Int = 0, rating: Double? = nil,
        households: Set<UUID> = [], busy: [TimeWindow] = [], paused: Bool = false
    ) -> VolunteerProfile {
        VolunteerProfile(
            id: UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", id))!, skills: skills,
            place: Whereabouts(grid: grid, community: community, street: street, district: "D1"), availability: slots.compactMap(WeeklySlot.init),
            busy: busy, hoursThisMonth: hours, completed: completed, noShows: noShows, averageRating: rating, households: households, paused: paused)
    }

    @Test func candidatesNeedTheSkillsTheWindowAndAFreeCalendarAndMustNotBePaused() {
        let check = { (volunteer: VolunteerProfile) in Matching.ineligibility(of: volunteer, for: Self.need, calendar: Self.calendar) }
        #expect(check(Self.volunteer(1)) == nil)
        #expect(check(Self.volunteer(2, skills: ["cooking"])) == .missingSkills(["first-aid"]))
        #expect(check(Self.volunteer(3, slots: ["tue 09:00-12:00"])) == .unavailable(Self.window), "Monday is not Tuesday")
        #expect(check(Self.volunteer(4, slots: ["mon 10:00-12:00"])) == .unavailable(Self.window), "the slots must cover the whole window")
        #expect(check(Self.volunteer(8, slots: ["mon 10:00-12:00", "mon 09:00-10:00"])) == nil, "together they do")
        let overlapping = TimeWindow(start: Self.time("2026-11-23T10:30:00+08:00"), end: Self.time("2026-11-23T12:00:00+08:00"))
        #expect(check(Self.volunteer(5, busy: [overlapping])) == .doubleBooked(Self.window))
        let adjacent = TimeWindow(start: Self.time("2026-11-23T11:00:00+08:00"), end: Self.time("2026-11-23T12:00:00+08:00"))
        #expect(check(Self.volunteer(6, busy: [adjacent])) == nil, "back to back is not a double booking")
        #expect(check(Self.volunteer(7, paused: true)) == .paused)
    }

    static func window(_ from: String, _ to: String) -> TimeWindow { TimeWindow(start: time(from), end: time(to)) }
    static func available(_ slots: [String], _ window: TimeWindow, calendar: Calendar = Self.calendar) -> Bool {
        let need = NeedProfile(id: UUID(), kind: .elderCare, skills: [], place: Whereabouts(), windows: [window])
        let volunteer = VolunteerProfile(id: UUID(), skills: [], place: Whereabouts(), availability: slots.compactMap(WeeklySlot.init))
        return Matching.ineligibility(of: volunteer, for: need, calendar: calendar) == nil
    }

    @Test func backToBackSlotsTogetherCoverAWindowNeitherCoversAlone() {
        let window = Self.window("2026-11-23T11:00:00+08:00", "2026-11-23T13:00:00+08:00")
        #expect(Self.available(["mon 09:00-12:00", "mon 12:00-15:00"], window))
        #expect(!Self.available(["mon 09:00-12:00"], window))
        #expect(!Self.available(["mon 12:00-15:00"], window))
        #expect(!Self.available(["mon 09:00-12:00", "mon 12:01-15:00"], window), "a minute's gap is a gap")
        #expect(Self.available(["mon 12:30-15:00", "mon 10:00-12:00", "mon 11:30-12:45"], window), "overlapping slots in any order")
        let slot = WeeklySlot("mon 09:00-12:00")!
        #expect(!slot.covers(window, calendar: Self.calendar), "one slot alone still answers for itself only")
    }

    @Test func theWeekWrapsFromSundayMidnightIntoMonday() {
        let window = Self.window("2026-11-29T23:00:00+08:00", "2026-11-30T01:00:00+08:00")
        #expect(Self.available(["sun 22:00-24:00", "mon 00:00-02:00"], window))
        #expect(!Self.available(["sun 22:00-24:00"], window))
        #expect(!Self.available(["sun 22:00-24:00", "tue 00:00-02:00"], window))
        let untilOneMinuteToOne = Self.window("2026-11-29T23:00:00+08:00", "2026-11-30T00:59:00+08:00")
        #expect(Self.available(["sun 22:00-24:59"], untilOneMinuteToOne), "a slot running past 24:00 runs into Monday")
        #expect(!Self.available(["sun 22:00-24:59"], window))
        let tuesdayNight = Self.window("2026-11-24T23:30:00+08:00", "2026-11-25T00:30:00+08:00")
        #expect(Self.available(["tue 23:00-24:00", "wed 00:00-01:00"], tuesdayNight))
        #expect(!Self.available(["tue 23:00-24:00", "tue 00:00-01:00"], tuesdayNight))
    }

    @Test func windowsAreTakenToTheMinuteInTheCitysTimeZone() {
        let inUTC = Self.window("2026-11-23T01:30:00Z", "2026-11-23T03:00:00Z")
        #expect(Self.available(["mon 09:00-12:00"], inUTC), "01:30Z is 09:30 in Shanghai")
        #expect(!Self.available(["mon 01:00-04:00"], inUTC))
        let ragged = Self.window("2026-11-23T09:00:30+08:00", "2026-11-23T11:59:30+08:00")
        #expect(Self.available(["mon 09:00-12:00"], ragged))
        #expect(!Self.available(["mon 09:01-12:00"], ragged), "the start rounds down to 09:00")
        #expect(!Self.available(["mon 09:00-11:59"], ragged), "the end rounds up to 12:00")
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        #expect(Self.available(["mon 01:00-04:00"], inUTC, calendar: utc))
    }

    @Test func aWholeWeekCoversUpToSevenDaysAndNothingLonger() {
        let everyDay = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { "\($0) 00:00-24:00" }
        let week = Self.window("2026-11-25T15:00:00+08:00", "2026-12-02T15:00:00+08:00")
        #expect(Self.available(everyDay, week))
        #expect(!Self.available(Array(everyDay.dropLast()), week))
        #expect(!Self.available(everyDay, Self.window("2026-11-25T15:00:00+08:00", "2026-12-02T15:00:01+08:00")), "longer than seven days")
        #expect(!Self.available(everyDay, Self.window("2026-11-25T15:00:00+08:00", "2026-11-25T15:00:00+08:00")), "an empty window")
    }

    @Test func nearerVolunteersRankFirstSameGridThenCommunityThenStreetThenDistrict() {
        let volunteers = [
            Self.volunteer(1), Self.volunteer(2, street: "S1"), Self.volunteer(3, community: "C1", street: "S1"),
            Self.volunteer(4, grid: "G1", community: "C1", street: "S1"),
        ]
        let ranked = Matching.rank(Self.need, among: volunteers, calendar: Self.calendar)
        #expect(ranked.map(\.score.nearness) == [.grid, .community, .street, .district])
    }

    @Test func fairnessReliabilityAndContinuityOrderEqualNeighbours() {
        let fresh = Self.volunteer(1, hours: 0), busy = Self.volunteer(2, hours: 40)
        #expect(Matching.score(fresh, for: Self.need).fairness == 20)
        #expect(Matching.score(busy, for: Self.need).fairness == 0)
        let reliable = Self.volunteer(3, completed: 9, noShows: 0, rating: 5), flaky = Self.volunteer(4, completed: 3, noShows: 3, rating: 2)
        #expect(Matching.score(reliable, for: Self.need).reliability == 20)
        #expect(Matching.score(flaky, for: Self.need).reliability == 15 * 0.5 + 1.25)
        let regular = Self.volunteer(5, households: [Self.household])
        #expect(Matching.score(regular, for: Self.need).continuity == 10)
        let ranked = Matching.rank(Self.need, among: [busy, fresh, regular], calendar: Self.calendar).map(\.volunteer)
        #expect(ranked == [regular.id, fresh.id, busy.id])
    }

    @Test func theScoreIsExplainedByItsPartsAndTiesGoToTheSmallerID() throws {
        let skilled = Self.volunteer(8, skills: ["first-aid", "elder-care"])
        let score = Matching.score(skilled, for: Self.need)
        #expect(score.skills == 20, "the need's kind counts as a skill")
        #expect(score.total == score.place + score.skills + score.fairness + score.reliability + score.continuity)
        let twins = [Self.volunteer(9), Self.volunteer(3)]
        #expect(Matching.rank(Self.need, among: twins, calendar: Self.calendar).map(\.volunteer) == [twins[1].id, twins[0].id])
        #expect(Matching.rank(Self.need, among: (0..<50).map { Self.volunteer($0) }, calendar: Self.calendar, limit: 5).count == 5)
    }

    @Test(arguments: [("mon 09:00-12:00", true), ("sun 00:00-24:00", true), ("mon 12:00-09:00", false), ("xyz 09:00-10:00", false), ("mon 9-10", false)])
    func weeklySlotsParseOnlyWhenTheyMakeSense(text: String, valid: Bool) {
        #expect((WeeklySlot(text) != nil) == valid)
    }
}
