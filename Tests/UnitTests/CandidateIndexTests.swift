import Foundation
import Testing
import VolunteerCore

/// SplitMix64: a tiny seedable generator, so every run builds the same city.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var bits = state
        bits = (bits ^ (bits >> 30)) &* 0xBF58_476D_1CE4_E5B9
        bits = (bits ^ (bits >> 27)) &* 0x94D0_49BB_1331_11EB
        return bits ^ (bits >> 31)
    }
}

/// A small city with many ties: two districts of two streets of two communities of three grids, coarse statistics, a
/// handful of skills and weekly slots that meet across midnight and across Sunday.
struct RandomCity {
    var random: SplitMix64
    let households: [UUID]
    static let skills = ["first-aid", "cooking", "driving", "sign-language", "mandarin", "cantonese", "elder-care", "tutoring", "nursing", "day-care"]
    static let slots = [
        "mon 09:00-12:00", "mon 12:00-15:00", "tue 08:00-18:00", "wed 18:00-22:00", "thu 00:00-24:00", "fri 09:00-11:30",
        "sat 10:00-16:00", "sun 22:00-24:00", "mon 00:00-02:00", "sun 00:00-24:00", "wed 09:00-12:00", "wed 11:00-17:00",
        "fri 13:00-24:30", "sat 23:00-24:00", "tue 19:00-21:00", "mon 14:00-20:00", "thu 08:00-08:30", "sun 23:00-24:30",
    ]
    /// Monday 2026-11-23 00:00 in Shanghai.
    static let monday = try! Date("2026-11-23T00:00:00+08:00", strategy: .iso8601)

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
        var households: [UUID] = []
        for _ in 0..<30 { households.append(Self.uuid(&random)) }
        self.households = households
    }

    static func uuid(_ random: inout SplitMix64) -> UUID {
        var words = (random.next().bigEndian, random.next().bigEndian)
        return withUnsafeBytes(of: &words) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
    mutating func some<T: Hashable>(_ items: [T], upTo most: Int) -> Set<T> {
        Set((0..<Int.random(in: 0...most, using: &random)).map { _ in pick(items) })
    }

    mutating func place() -> Whereabouts {
        func codes(_ random: inout SplitMix64) -> (String, String, String, String) {
            let district = "D\(Int.random(in: 1...2, using: &random))"
            let street = district + "-S\(Int.random(in: 1...2, using: &random))"
            let community = street + "-C\(Int.random(in: 1...2, using: &random))"
            return (community + "-G\(Int.random(in: 1...3, using: &random))", community, street, district)
        }
        let (grid, community, street, district) = codes(&random)
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<78: return Whereabouts(grid: grid, community: community, street: street, district: district)
        case 78..<86: return Whereabouts(community: community, street: street, district: district)
        case 86..<91: return Whereabouts(district: district)
        case 91..<94: return Whereabouts()
        default:
            // Registry data is not always consistent: a grid filed under another community.
            let other = codes(&random)
            return Whereabouts(grid: grid, community: other.1, street: street, district: other.3)
        }
    }

    mutating func window() -> TimeWindow {
        let day = Int.random(in: 0..<7, using: &random)
        var start = Self.monday.addingTimeInterval(Double(day * 86_400 + Int.random(in: 12..<48, using: &random) * 1_800))
        if chance(10) { start.addTimeInterval(Double(Int.random(in: 1..<60, using: &random))) }
        if chance(5) { start = Self.monday.addingTimeInterval(6 * 86_400 + 23 * 3_600) }  // Sunday 23:00, into Monday
        var length = Double(Int.random(in: 1...6, using: &random) * 1_800)
        if chance(10) { length += Double(Int.random(in: 1..<60, using: &random)) }
        return TimeWindow(start: start, end: start.addingTimeInterval(length))
    }

    mutating func volunteer() -> VolunteerProfile {
        VolunteerProfile(
            id: Self.uuid(&random), skills: some(Self.skills, upTo: 3), place: place(),
            availability: some(Self.slots, upTo: 4).compactMap(WeeklySlot.init),
            busy: chance(12) ? (0..<Int.random(in: 1...2, using: &random)).map { _ in window() } : [],
            hoursThisMonth: Double(Int.random(in: 0...9, using: &random) * 5), completed: Int.random(in: 0...6, using: &random),
            noShows: chance(70) ? 0 : Int.random(in: 1...2, using: &random),
            averageRating: chance(40) ? nil : Double(Int.random(in: 2...10, using: &random)) / 2,
            households: chance(20) ? some(households, upTo: 2) : [], paused: chance(8))
    }

    mutating func need() -> NeedProfile {
        NeedProfile(
            id: Self.uuid(&random), kind: pick(ServiceKind.allCases), skills: some(Array(Self.skills.prefix(5)), upTo: 2), place: place(),
            windows: (0..<Int.random(in: 1...2, using: &random)).map { _ in window() }, household: chance(50) ? pick(households) : nil)
    }
}

@Suite struct CandidateIndexTests {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }()

    static func id(_ number: Int) -> UUID { UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", number))! }

    /// Compares the index with the reference for every need, at several limits, with and without exclusions; returns how
    /// many rankings were not empty and how many reached past the need's own grid, so the caller can see it tested something.
    static func expectSameRankings(
        _ index: CandidateIndex, _ volunteers: [VolunteerProfile], _ needs: [NeedProfile], _ random: inout SplitMix64, _ label: String
    ) -> (nonEmpty: Int, beyondGrid: Int) {
        var nonEmpty = 0, beyondGrid = 0
        for (number, need) in needs.enumerated() {
            let limit = [1, 3, 10, 50][number % 4]
            let expected = Matching.rank(need, among: volunteers, calendar: calendar, limit: limit)
            #expect(index.rank(need, limit: limit) == expected, "\(label): need \(number), limit \(limit)")
            if !expected.isEmpty { nonEmpty += 1 }
            if expected.contains(where: { $0.score.nearness != .grid }) { beyondGrid += 1 }
            var excluding = Set(expected.prefix(2).map(\.volunteer))
            for _ in 0..<20 { excluding.insert(volunteers[Int.random(in: 0..<volunteers.count, using: &random)].id) }
            let remaining = volunteers.filter { !excluding.contains($0.id) }
            #expect(
                index.rank(need, limit: limit, excluding: excluding) == Matching.rank(need, among: remaining, calendar: calendar, limit: limit),
                "\(label): need \(number), limit \(limit), excluding \(excluding.count)")
        }
        return (nonEmpty, beyondGrid)
    }

    @Test func rankingsEqualTheReferenceOnARandomCityThroughUpsertsAndRemovals() {
        var city = RandomCity(seed: 20_261_123)
        var volunteers = (0..<2_500).map { _ in city.volunteer() }
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: volunteers)
        #expect(index.count == volunteers.count)
        let needs = (0..<160).map { _ in city.need() }
        var random = SplitMix64(seed: 99)

        let fresh = Self.expectSameRankings(index, volunteers, needs, &random, "fresh")
        #expect(fresh.nonEmpty > needs.count / 2, "the city must give most needs candidates, or the comparison proves little")
        #expect(fresh.beyondGrid > needs.count / 10, "some rankings must reach past the need's grid")

        // Moves between places, new statistics, new busy windows and households; removals; newcomers.
        for position in stride(from: 0, to: volunteers.count, by: 4) {
            var volunteer = city.volunteer()
            volunteer.id = volunteers[position].id
            if position % 8 == 0 { volunteer.place = volunteers[position].place }
            volunteers[position] = volunteer
            index.upsert(volunteer)
        }
        var removed: [UUID] = []
        for position in stride(from: volunteers.count - 1, through: 0, by: -7) {
            removed.append(volunteers[position].id)
            index.remove(volunteers[position].id)
            volunteers.remove(at: position)
        }
        for _ in 0..<300 {
            let volunteer = city.volunteer()
            volunteers.append(volunteer)
            index.upsert(volunteer)
        }
        #expect(index.count == volunteers.count)
        #expect(removed.allSatisfy { !index.contains($0) })
        #expect(volunteers.allSatisfy { index.contains($0.id) })
        _ = Self.expectSameRankings(index, volunteers, needs, &random, "after changes")

        index.regroup()
        #expect(index.count == volunteers.count)
        _ = Self.expectSameRankings(index, volunteers, Array(needs.prefix(40)), &random, "regrouped")
        for volunteer in volunteers.prefix(200) { index.remove(volunteer.id) }
        #expect(index.count == volunteers.count - 200)
        _ = Self.expectSameRankings(index, Array(volunteers.dropFirst(200)), Array(needs.prefix(40)), &random, "regrouped, then removed")
    }

    static let need = NeedProfile(
        id: UUID(), kind: .elderCare, skills: [], place: Whereabouts(grid: "G1", community: "C1", street: "S1", district: "D1"),
        windows: [TimeWindow(start: try! Date("2026-11-23T09:30:00+08:00", strategy: .iso8601), end: try! Date("2026-11-23T11:00:00+08:00", strategy: .iso8601))])

    static func volunteer(
        _ number: Int, grid: String? = nil, community: String? = nil, street: String? = nil, district: String? = nil, skills: Set<String> = ["elder-care"],
        hours: Double = 0, completed: Int = 1, noShows: Int = 0, rating: Double? = 5, households: Set<UUID> = []
    ) -> VolunteerProfile {
        VolunteerProfile(
            id: id(number), skills: skills, place: Whereabouts(grid: grid, community: community, street: street, district: district),
            availability: [WeeklySlot("mon 09:00-12:00")!], hoursThisMonth: hours, completed: completed, noShows: noShows, averageRating: rating,
            households: households)
    }

    @Test func theEarlyStopSkipsFartherTiersOnlyWhenNoneOfThemCouldEnter() {
        // Ten strong neighbours in the grid: 40 + 20 + 20 + 20 = 100 each, beyond the community's best (90).
        let neighbours = (1...10).map { Self.volunteer(100 + $0, grid: "G1", community: "C1", street: "S1", district: "D1") }
        let farAway = (1...500).map { Self.volunteer(1_000 + $0, district: "D\($0 % 5 + 2)") }
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: neighbours + farAway)
        var examined = 0
        let ranked = index.rank(Self.need, limit: 5, excluding: [], examined: &examined)
        #expect(ranked == Matching.rank(Self.need, among: neighbours + farAway, calendar: Self.calendar, limit: 5))
        #expect(examined == neighbours.count, "the grid alone decides, so nobody else is looked at")

        // Weak neighbours (hours spent, no-shows, poor ratings): one far volunteer serving the household beats them all.
        let household = UUID()
        var need = Self.need
        need.household = household
        let weak = (1...10).map { Self.volunteer(100 + $0, grid: "G1", community: "C1", street: "S1", district: "D1", hours: 40, noShows: 5, rating: 1) }
        let regular = Self.volunteer(900, district: "D9", households: [household])
        index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: weak + farAway + [regular])
        examined = 0
        let mixed = index.rank(need, limit: 3, excluding: [], examined: &examined)
        #expect(mixed.first?.volunteer == regular.id, "70 from far away beats 62.5 next door")
        #expect(mixed == Matching.rank(need, among: weak + farAway + [regular], calendar: Self.calendar, limit: 3))
        #expect(examined > weak.count)
    }

    @Test func aTieAtTheStoppingPointStillGoesToTheSmallerIDInTheNextTier() {
        // The grid volunteer scores 40 + 20 + 10 + 20 = 90; the best a community volunteer can score is 30 + 20 + 20 + 20 = 90.
        let next = Self.volunteer(1, community: "C1")
        let inGrid = Self.volunteer(2, grid: "G1", community: "C1", street: "S1", district: "D1", hours: 20)
        let behind = Self.volunteer(3, community: "C1")
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: [behind, inGrid, next])
        #expect(Matching.score(inGrid, for: Self.need).total == Matching.score(next, for: Self.need).total)
        #expect(index.rank(Self.need, limit: 1).map(\.volunteer) == [next.id])
        #expect(index.rank(Self.need, limit: 3).map(\.volunteer) == [next.id, inGrid.id, behind.id])
        #expect(index.rank(Self.need, limit: 1, excluding: [next.id]).map(\.volunteer) == [inGrid.id])
    }

    @Test func aFarVolunteerWithinAFractionOfTheWorstHeldIsStillScanned() {
        // Far away: 0 + 20 + 19.9 + 20 = 59.9, with fairness + reliability 39.9 in the level 39.875 ..< 40.
        let far = Self.volunteer(2, district: "D9", hours: 0.2)
        // In the grid, without the kind's skill: 40 + 0 + 0 + 19.88 = 59.88, between the level's floor and the far total.
        let near = Self.volunteer(1, grid: "G1", community: "C1", street: "S1", district: "D1", skills: [], hours: 40, rating: 4.904)
        let nearTotal = Matching.score(near, for: Self.need).total, farTotal = Matching.score(far, for: Self.need).total
        #expect(nearTotal > 59.875 && nearTotal < farTotal)
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: [near, far])
        #expect(index.rank(Self.need, limit: 1).map(\.volunteer) == [far.id])
        #expect(index.rank(Self.need, limit: 2) == Matching.rank(Self.need, among: [near, far], calendar: Self.calendar, limit: 2))
    }

    @Test func outlandishStatisticsAreRankedExactlyAndNeverCutOff() {
        // Negative hours push fairness past any level; negative no-shows push reliability up. Both stay exact.
        let odd = [
            Self.volunteer(1, district: "D9", hours: -100_000), Self.volunteer(2, district: "D9", hours: -3),
            Self.volunteer(3, district: "D9", completed: 2, noShows: -1), Self.volunteer(4, district: "D9", hours: 1e300),
        ]
        let plain = (10..<40).map { Self.volunteer($0, grid: "G1", community: "C1", street: "S1", district: "D1") }
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: plain + odd)
        #expect(index.rank(Self.need, limit: 3) == Matching.rank(Self.need, among: plain + odd, calendar: Self.calendar, limit: 3))
        #expect(index.rank(Self.need, limit: 3).first?.volunteer == Self.id(1))
        index.remove(Self.id(1))
        index.upsert(Self.volunteer(2, district: "D9", hours: -200_000))
        let rest = plain + [Self.volunteer(2, district: "D9", hours: -200_000)] + odd[2...]
        #expect(index.count == rest.count)
        #expect(index.rank(Self.need, limit: 5) == Matching.rank(Self.need, among: rest, calendar: Self.calendar, limit: 5))
        index.remove(Self.id(2))
        #expect(!index.contains(Self.id(2)) && index.count == rest.count - 1)
    }

    @Test func equalScoresRankBySmallerIDAsTheReferenceDoes() {
        let twins = [9, 3, 12, 7, 1, 30].map { Self.volunteer($0, community: "C1") }
        var random = SplitMix64(seed: 5)
        let others = (0..<40).map { _ in
            VolunteerProfile(
                id: RandomCity.uuid(&random), skills: ["elder-care"], place: Whereabouts(community: "C1"),
                availability: [WeeklySlot("mon 09:00-12:00")!], completed: 1, averageRating: 5)
        }
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: others + twins)
        let ranked = index.rank(Self.need, limit: 50)
        #expect(ranked.count == 46)
        #expect(Set(ranked.map(\.score.total)).count == 1)
        #expect(ranked.map(\.volunteer.uuidString) == ranked.map(\.volunteer.uuidString).sorted())
        #expect(ranked.prefix(6).map(\.volunteer) == [1, 3, 7, 9, 12, 30].map(Self.id))
        #expect(ranked == Matching.rank(Self.need, among: others + twins, calendar: Self.calendar, limit: 50))
    }

    @Test func skillsPastTheBitmaskAreCheckedAndCountedExactly() {
        // 150 distinct skills: many of them lie past the 96 that have bits.
        let vocabulary = (0..<150).map { "skill-\($0)" }
        var volunteers = (0..<150).map { Self.volunteer(1_000 + $0, community: "C1", skills: [vocabulary[$0], vocabulary[($0 + 1) % 150]]) }
        let both = Self.volunteer(1, community: "C1", skills: ["skill-140", "skill-145", "elder-care"])
        let one = Self.volunteer(2, community: "C1", skills: ["skill-140", "elder-care"])
        let lowAndHigh = Self.volunteer(3, community: "C1", skills: ["skill-2", "skill-145"])
        volunteers += [both, one, lowAndHigh]
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: volunteers)
        func check(_ skills: Set<String>) -> [UUID] {
            var need = Self.need
            need.skills = skills
            let ranked = index.rank(need, limit: 20)
            #expect(ranked == Matching.rank(need, among: volunteers, calendar: Self.calendar, limit: 20), "\(skills)")
            return ranked.map(\.volunteer)
        }
        #expect(Set(check(["skill-140", "skill-145"])) == [both.id])
        #expect(Set(check(["skill-140"])) == [both.id, one.id, Self.id(1_139), Self.id(1_140)])
        #expect(Set(check(["skill-2", "skill-145"])) == [lowAndHigh.id])
        #expect(check(["skill-149", "skill-0"]) == [Self.id(1_149)], "the vocabulary wraps round: 149 and 0")
        #expect(check(["nobody-has-this"]).isEmpty)
        var need = Self.need
        need.skills = ["skill-140"]
        let scores = index.rank(need, limit: 20).map(\.score.skills)
        #expect(scores.contains(20) && scores.contains(10), "the kind counts as a skill beside an overflow skill")
    }

    @Test func availabilityWrapsFromSundayIntoMondayInTheIndexToo() {
        func volunteer(_ number: Int, _ slots: [String]) -> VolunteerProfile {
            VolunteerProfile(
                id: Self.id(number), skills: [], place: Whereabouts(grid: "G1"), availability: slots.compactMap(WeeklySlot.init))
        }
        let volunteers = [
            volunteer(1, ["sun 23:00-24:30"]), volunteer(2, ["sun 22:00-24:00", "mon 00:00-02:00"]), volunteer(3, ["sun 22:00-24:00"]),
            volunteer(4, ["mon 00:00-02:00"]), volunteer(5, ["sun 24:00-24:40"]), volunteer(6, ["mon 09:00-12:00", "mon 12:00-15:00"]),
        ]
        var index = CandidateIndex(calendar: Self.calendar)
        index.upsert(contentsOf: volunteers)
        func candidates(_ from: String, _ to: String) -> [UUID] {
            let window = TimeWindow(start: try! Date(from, strategy: .iso8601), end: try! Date(to, strategy: .iso8601))
            let need = NeedProfile(id: UUID(), kind: .other, skills: [], place: Whereabouts(grid: "G1"), windows: [window])
            let ranked = index.rank(need)
            #expect(ranked == Matching.rank(need, among: volunteers, calendar: Self.calendar), "\(from) to \(to)")
            return ranked.map(\.volunteer)
        }
        #expect(candidates("2026-11-30T00:00:00+08:00", "2026-11-30T00:30:00+08:00") == [1, 2, 4, 5].map(Self.id))
        #expect(candidates("2026-11-29T23:00:00+08:00", "2026-11-30T01:00:00+08:00") == [Self.id(2)])
        #expect(candidates("2026-11-29T23:30:00+08:00", "2026-11-30T00:30:00+08:00") == [1, 2].map(Self.id))
        #expect(candidates("2026-11-23T11:00:00+08:00", "2026-11-23T13:00:00+08:00") == [Self.id(6)])
    }

    @Test func upsertReplacesByIDAndMovesBetweenPlaces() {
        var index = CandidateIndex(calendar: Self.calendar)
        let far = Self.volunteer(1, district: "D7")
        index.upsert(far)
        index.upsert(Self.volunteer(2, district: "D7"))
        #expect(index.rank(Self.need).map(\.score.nearness) == [.elsewhere, .elsewhere])
        index.upsert(Self.volunteer(1, grid: "G1"))
        #expect(index.count == 2)
        #expect(index.rank(Self.need).map(\.score.nearness) == [.grid, .elsewhere])
        var paused = Self.volunteer(1, grid: "G1")
        paused.paused = true
        index.upsert(paused)
        #expect(index.rank(Self.need).map(\.volunteer) == [Self.id(2)])
        index.remove(Self.id(2))
        index.remove(Self.id(2))
        #expect(index.count == 1 && !index.contains(Self.id(2)) && index.contains(Self.id(1)))
        #expect(index.rank(Self.need).isEmpty)
    }
}
