// Ranks candidates for needs among a million volunteers, in memory, with `CandidateIndex`:
//   a deterministic city of 20,000 grids (about ten grids to a community, ten communities to a street, ten streets to a
//   district), 1,000,000 volunteers spread unevenly over them and 20,000 open needs in the next two weeks (Asia/Shanghai).
// It measures building the index and the memory it holds, one need's ranking (p50/p99/max over all needs), a batch that
// books the chosen volunteers so later needs cannot double-book them, and checks 200 rankings against `Matching.rank`.
// Exits non-zero when any of those disagree.
//
//   matching-bench [--volunteers 1000000] [--needs 20000] [--grids 20000] [--seed 42] [--limit 10] [--check 200]
import Foundation
import VolunteerCore

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count, let value = Int(arguments[index + 1]) else {
        return fallback
    }
    return value
}
let volunteerCount = option("volunteers", 1_000_000)
let needCount = option("needs", 20_000)
let gridCount = max(option("grids", 20_000), 1)
let seed = UInt64(option("seed", 42))
let limit = option("limit", 10)
let checks = option("check", 200)

func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
let clock = ContinuousClock()
func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
}
func grouped(_ number: Int) -> String {
    let digits = String(number.magnitude)
    var out = ""
    for (offset, digit) in digits.enumerated() {
        if offset > 0, (digits.count - offset) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return (number < 0 ? "-" : "") + out
}
func fixed(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// VmRSS and VmHWM of this process, in MiB.
func memory() -> (rss: Double, peak: Double) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Double {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
        }
        return 0
    }
    return (field("VmRSS"), field("VmHWM"))
}

/// glibc's `malloc_trim(0)`, looked up at run time (its header is not in the Glibc module); nothing elsewhere.
func trimMalloc() {
    #if canImport(Glibc)
    typealias Trim = @convention(c) (Int) -> Int32
    if let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "malloc_trim") {
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }
    #endif
}

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

/// The generated city. Every volunteer and need is a function of the seed and its number, so the batch can rebuild a
/// volunteer's profile to book them, and the spot check can rebuild the whole array.
struct City: Sendable {
    let seed: UInt64
    let grids: Int
    let calendar: Calendar
    /// Monday 2026-11-23 00:00 in Shanghai: needs and busy windows fall in the two weeks from here.
    let monday: Date
    /// Most asked first: the kinds' own skills and the everyday ones, then the rarer ones.
    static let skills = [
        "elder-care", "first-aid", "cooking", "meal-delivery", "driving", "day-care", "tutoring", "mandarin", "nursing",
        "after-school-care", "counselling", "cantonese", "rehabilitation", "hardship-help", "computer-skills", "other",
        "legal-aid", "shanghainese", "haircut", "home-repair", "psychology", "migrant-worker-training", "physiotherapy",
        "english", "sign-language",
    ]
    let patterns: [[WeeklySlot]]
    static let households = 100_000

    init(seed: UInt64, grids: Int) {
        self.seed = seed
        self.grids = grids
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        self.calendar = calendar
        monday = try! Date("2026-11-23T00:00:00+08:00", strategy: .iso8601)
        patterns = Self.makePatterns(seed: seed)
    }

    /// About sixty weekly patterns: weekday mornings, afternoons, evenings, weekends, every day, a few days, split shifts
    /// that meet at noon, and night owls whose slots cross Sunday midnight.
    static func makePatterns(seed: UInt64) -> [[WeeklySlot]] {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        let bands = [
            ["08:00-12:00"], ["09:00-12:00"], ["13:00-17:00"], ["14:00-18:00"], ["18:00-21:00"], ["09:00-18:00"], ["08:00-20:00"],
            ["09:00-12:00", "12:00-15:00"], ["07:00-09:00", "17:00-20:00"], ["10:00-16:00"],
        ]
        let dayGroups = [[0, 1, 2, 3, 4], [5, 6], [0, 1, 2, 3, 4, 5, 6], [0, 2, 4], [1, 3], [5], [6], [0, 1, 2]]
        var random = SplitMix64(seed: seed ^ 0x5EED)
        var patterns: [[WeeklySlot]] = []
        while patterns.count < 56 {
            let group = dayGroups[Int.random(in: 0..<dayGroups.count, using: &random)]
            let band = bands[Int.random(in: 0..<bands.count, using: &random)]
            patterns.append(group.flatMap { day in band.compactMap { WeeklySlot("\(days[day]) \($0)") } })
        }
        patterns.append(["sun 22:00-24:00", "mon 00:00-02:00", "fri 20:00-24:00"].compactMap(WeeklySlot.init))
        patterns.append(["sat 20:00-24:00", "sun 00:00-24:00", "mon 00:00-08:00"].compactMap(WeeklySlot.init))
        patterns.append(days.compactMap { WeeklySlot("\($0) 00:00-24:00") })
        patterns.append(["wed 19:00-24:30", "sat 09:00-12:00"].compactMap(WeeklySlot.init))
        return patterns
    }

    func place(grid: Int) -> Whereabouts {
        let community = grid / 10, street = grid / 100, district = grid / 1_000
        return Whereabouts(grid: "G\(grid)", community: "C\(community)", street: "S\(street)", district: "D\(district)")
    }

    func random(_ kind: UInt64, _ number: Int) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (kind &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(number))
        return SplitMix64(seed: mixer.next())
    }

    /// A skewed pick: low indexes are much likelier.
    static func skewed(_ count: Int, _ random: inout SplitMix64, power: Double = 2) -> Int {
        min(Int(pow(Double.random(in: 0..<1, using: &random), power) * Double(count)), count - 1)
    }

    func window(_ random: inout SplitMix64) -> TimeWindow {
        let day = Int.random(in: 0..<14, using: &random)
        let start = monday.addingTimeInterval(Double(day * 86_400 + Int.random(in: 16...39, using: &random) * 1_800))
        return TimeWindow(start: start, end: start.addingTimeInterval(Double(Int.random(in: 2...6, using: &random) * 1_800)))
    }

    func household(_ random: inout SplitMix64) -> UUID {
        let number = UInt64(Int.random(in: 0..<Self.households, using: &random))
        var words = ((seed &* 0xD1B5_4A32_D192_ED03 ^ number).bigEndian, number.bigEndian)
        return withUnsafeBytes(of: &words) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    /// Twelve random bytes, then the volunteer's number, so the id orders at random and still says who it is.
    func volunteerID(_ number: Int, _ random: inout SplitMix64) -> UUID {
        var words = (random.next().bigEndian, ((random.next() << 32) | UInt64(UInt32(number))).bigEndian)
        return withUnsafeBytes(of: &words) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    static func number(of id: UUID) -> Int { Int(id.uuid.12) << 24 | Int(id.uuid.13) << 16 | Int(id.uuid.14) << 8 | Int(id.uuid.15) }

    func volunteer(_ number: Int) -> VolunteerProfile {
        var random = random(1, number)
        let id = volunteerID(number, &random)
        // A quarter of the volunteers live in one grid of twenty (the big estates); the rest anywhere.
        let grid = Int.random(in: 0..<4, using: &random) == 0
            ? Int.random(in: 0..<max(grids / 20, 1), using: &random) * 20 % grids : Int.random(in: 0..<grids, using: &random)
        var place = place(grid: grid)
        if Int.random(in: 0..<100, using: &random) == 0 { place.grid = nil }  // the registry knows only their community
        var skills: Set<String> = []
        for _ in 0..<Int.random(in: 1...4, using: &random) { skills.insert(Self.skills[Self.skewed(Self.skills.count, &random)]) }
        let pattern = patterns[Self.skewed(patterns.count, &random, power: 1.5)]
        let busy = Int.random(in: 0..<100, using: &random) < 5 ? (0..<Int.random(in: 1...2, using: &random)).map { _ in window(&random) } : []
        let completed = Self.skewed(51, &random)
        let noShows = Int.random(in: 0..<10, using: &random) < 7 ? 0 : Int.random(in: 1...5, using: &random)
        let rating: Double? = Int.random(in: 0..<10, using: &random) < 3 ? nil : Double(Int.random(in: 10...50, using: &random)) / 10
        let households: Set<UUID> =
            Int.random(in: 0..<100, using: &random) < 5 ? Set((0..<Int.random(in: 1...2, using: &random)).map { _ in household(&random) }) : []
        return VolunteerProfile(
            id: id, skills: skills, place: place, availability: pattern, busy: busy,
            hoursThisMonth: Double(Int.random(in: 0...80, using: &random)) / 2, completed: completed, noShows: noShows,
            averageRating: rating, households: households, paused: Int.random(in: 0..<100, using: &random) < 3)
    }

    func need(_ number: Int) -> (need: NeedProfile, seats: Int) {
        var random = random(2, number)
        let kind = ServiceKind.allCases[Self.skewed(ServiceKind.allCases.count, &random, power: 1.5)]
        var skills: Set<String> = []
        for _ in 0..<[0, 0, 1, 1, 2][Int.random(in: 0..<5, using: &random)] { skills.insert(Self.skills[Self.skewed(12, &random)]) }
        // Recurring needs repeat the first window a week later; others ask for another time.
        var windows = [window(&random)]
        for _ in 1..<Int.random(in: 1...3, using: &random) {
            windows.append(
                Bool.random(using: &random)
                    ? TimeWindow(start: windows[0].start.addingTimeInterval(7 * 86_400), end: windows[0].end.addingTimeInterval(7 * 86_400))
                    : window(&random))
        }
        var idRandom = random
        let need = NeedProfile(
            id: volunteerID(number, &idRandom), kind: kind, skills: skills, place: place(grid: Int.random(in: 0..<grids, using: &random)),
            windows: windows, household: Int.random(in: 0..<10, using: &random) < 4 ? household(&random) : nil)
        return (need, Int.random(in: 1...3, using: &random))
    }
}

final class Tally: @unchecked Sendable {
    let lock = NSLock()
    var agreed = 0
    var disagreements: [String] = []
}

/// Ranks the sample with the index and with `Matching.rank` on the whole array of profiles, rebuilt here with the
/// bookings, on every core.
func spotCheck(_ index: CandidateIndex, _ sample: [NeedProfile], city: City, count: Int, booked: [UUID: [TimeWindow]], limit: Int) -> Tally {
    let everyone = (0..<count).map { number in
        var profile = city.volunteer(number)
        profile.busy += booked[profile.id] ?? []
        return profile
    }
    let tally = Tally()
    DispatchQueue.concurrentPerform(iterations: sample.count) { position in
        let need = sample[position]
        let agrees = index.rank(need, limit: limit) == Matching.rank(need, among: everyone, calendar: city.calendar, limit: limit)
        tally.lock.lock()
        if agrees { tally.agreed += 1 } else { tally.disagreements.append(need.id.uuidString) }
        tally.lock.unlock()
    }
    return tally
}

func run() -> Int32 {
    let city = City(seed: seed, grids: gridCount)
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let today = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
    let baseline = memory()

    // 1. Build the index, generating profiles in chunks so that only the index stays in memory; only the upserts are timed.
    say("building the index from \(grouped(volunteerCount)) generated profiles…")
    var index = CandidateIndex(calendar: city.calendar)
    index.reserveCapacity(volunteerCount)
    var building = Duration.zero
    var chunkStart = 0
    while chunkStart < volunteerCount {
        let chunk = (chunkStart..<min(chunkStart + 100_000, volunteerCount)).map(city.volunteer)
        let started = clock.now
        index.upsert(contentsOf: chunk)
        building += clock.now - started
        chunkStart += chunk.count
    }
    let regroupStarted = clock.now
    index.regroup()
    let regrouping = clock.now - regroupStarted
    // Hand the generator's freed profiles back to the system, so that RSS shows what the index holds.
    trimMalloc()
    let built = memory()
    let estimate = Double(index.estimatedBytes) / 1_048_576
    say("built in \(fixed(milliseconds(building) / 1e3, 2)) s, regrouped in \(fixed(milliseconds(regrouping), 0)) ms, RSS \(fixed(built.rss)) MiB")

    // 2. One need at a time, each ranking timed.
    let needs = (0..<needCount).map(city.need)
    var latencies: [Double] = []
    latencies.reserveCapacity(needs.count)
    var examined = 0
    var nonEmpty = 0
    for (need, _) in needs {
        let started = clock.now
        let ranked = index.rank(need, limit: limit, excluding: [], examined: &examined)
        latencies.append(milliseconds(clock.now - started))
        if !ranked.isEmpty { nonEmpty += 1 }
    }
    let mean = latencies.reduce(0, +) / Double(max(latencies.count, 1))
    latencies.sort()
    func percentile(_ share: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(Int(Double(latencies.count) * share), latencies.count - 1)] }
    say("one need: p50 \(fixed(percentile(0.5), 3)) ms, p99 \(fixed(percentile(0.99), 3)) ms")

    // 3. The batch: each need in turn takes its seats from its ranking; those volunteers are booked for its windows.
    var booked: [UUID: [(window: TimeWindow, need: Int)]] = [:]
    var served = (fully: 0, partly: 0, none: 0)
    var seatsFilled = 0
    var ranking = Duration.zero
    let batchStarted = clock.now
    for (number, (need, seats)) in needs.enumerated() {
        let rankStarted = clock.now
        let chosen = index.rank(need, limit: max(limit, seats)).prefix(seats)
        ranking += clock.now - rankStarted
        for match in chosen {
            booked[match.volunteer, default: []].append(contentsOf: need.windows.map { ($0, number) })
            var profile = city.volunteer(City.number(of: match.volunteer))
            profile.busy += booked[match.volunteer, default: []].map(\.window)
            index.upsert(profile)
        }
        seatsFilled += chosen.count
        if chosen.count == seats { served.fully += 1 } else if chosen.isEmpty { served.none += 1 } else { served.partly += 1 }
    }
    let batching = clock.now - batchStarted
    // Nobody may hold bookings of two needs that overlap (a need's own windows may overlap each other).
    var doubleBooked = 0
    for (_, bookings) in booked {
        let clash = bookings.indices.contains { first in
            bookings.indices.contains { second in
                bookings[first].need != bookings[second].need && bookings[first].window.overlaps(bookings[second].window)
            }
        }
        if clash { doubleBooked += 1 }
    }
    say("batch: \(fixed(milliseconds(batching) / 1e3, 2)) s")

    trimMalloc()
    let after = memory()

    // 4. The spot check: 200 needs spread over the list, against the reference on the whole array as the batch left it.
    say("spot check: rebuilding the \(grouped(volunteerCount)) profiles and ranking \(checks) needs with Matching.rank…")
    let sampled = min(checks, needs.count)
    let sample = (0..<sampled).map { needs[$0 * needs.count / sampled].need }
    let checkStarted = clock.now
    let tally = spotCheck(index, sample, city: city, count: volunteerCount, booked: booked.mapValues { $0.map(\.window) }, limit: limit)
    let checking = clock.now - checkStarted
    say("spot check: agree \(tally.agreed)/\(sample.count) in \(fixed(milliseconds(checking) / 1e3)) s")

    func seconds(_ duration: Duration) -> String { fixed(milliseconds(duration) / 1e3, 2) + " s" }
    func row(_ measure: String, _ value: String) { print("| \(measure) | \(value) |") }
    print("# Volunteer matching, \(today), \(cores) cores, release")
    print()
    print("| measure | value |")
    print("| --- | ---: |")
    row("volunteers in the index; open needs; limit", "\(grouped(volunteerCount)) over \(grouped(gridCount)) grids; \(grouped(needCount)); \(limit)")
    row("build the index: upserts, then regroup by place", "**\(seconds(building))** + \(seconds(regrouping))")
    row(
        "memory after the build (process before: \(fixed(baseline.rss)) MiB)",
        "VmRSS **\(fixed(built.rss)) MiB**, VmHWM \(fixed(built.peak)) MiB; index estimate \(fixed(estimate)) MiB")
    row(
        "one need: `rank` among all, \(grouped(needs.count)) needs each timed",
        "**p50 \(fixed(percentile(0.5), 3)) ms, p99 \(fixed(percentile(0.99), 3)) ms**, max \(fixed(latencies.last ?? 0, 3)) ms, mean \(fixed(mean, 3)) ms")
    row("volunteers examined per need (mean); needs with candidates", "\(grouped(examined / max(needs.count, 1))); \(grouped(nonEmpty))")
    row(
        "batch: every need in turn takes 1–3 seats, those volunteers booked",
        "**\(seconds(batching))** (\(seconds(ranking)) of it ranking, \(grouped(Int(Double(needs.count) / max(milliseconds(batching) / 1e3, 1e-9)))) needs/s)")
    row(
        "needs fully / partly / not served; seats filled; double bookings",
        "\(grouped(served.fully)) / \(grouped(served.partly)) / \(grouped(served.none)); \(grouped(seatsFilled)); \(doubleBooked)")
    row("VmRSS after the batch (index and the batch's own bookings)", "\(fixed(after.rss)) MiB")
    row(
        "spot check against `Matching.rank` on the full array",
        "agree \(tally.agreed)/\(sample.count) (the reference took \(seconds(checking)) on \(cores) threads)")
    if tally.agreed != sample.count || doubleBooked > 0 {
        say("DISAGREEMENT: \(tally.disagreements.prefix(5).joined(separator: ", ")); double bookings: \(doubleBooked)")
        return 1
    }
    return 0
}

exit(run())
