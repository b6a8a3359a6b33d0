import Foundation

/// The volunteers of a city, held so that the candidates for one need are found among a million in milliseconds.
///
/// `rank` returns exactly what `Matching.rank` returns over the same volunteers (same order, same scores); only the work
/// differs. The reference scans every volunteer; the index looks where the points are:
///
/// - **Places.** Each distinct place (grid, community, street, district) is interned once and keeps a bucket of the
///   volunteers there. A need looks at its grid, then its community, its street, its district, and only then the rest of
///   the city. How near a volunteer is depends only on their place, so a place bucket is scanned in the one tier its
///   place belongs to, and no volunteer is seen twice.
/// - **The early stop.** Apart from place, a score is at most skills 20 + fairness 20 + reliability 20 + continuity 10
///   (continuity only when someone serves the need's household; fairness and reliability at most the largest the index
///   has seen, which is 20 for sane data). Once `limit` candidates are held and the worst of them scores strictly more
///   than the best the next tier could reach, no farther volunteer can enter, not even on a tie broken by the smaller id.
/// - **Compact columns.** Per volunteer: a 128-bit skill mask (skills interned to bits; skills past the 128th kept in an
///   exact side list), and one record with the id, the fairness and reliability parts already computed with the
///   reference's formulas, the place, and the availability pattern. Volunteers share few weekly patterns, so patterns are
///   interned as merged minute-of-week intervals, and each ranking works out once per pattern whether it covers the need's
///   windows. Busy windows, households served and the overflow skills live in small side tables, reached only through a
///   flag. An open-addressing table maps ids to records; removal moves the last record into the hole.
public struct CandidateIndex: Sendable {
    public let calendar: Calendar

    // One entry per volunteer, in the same order: the hot mask and the record.
    private var masks: [SkillMask] = []
    private var records: [Record] = []
    /// Open addressing, linear probing: record index + 1, 0 when empty.
    private var table: [Int32] = Array(repeating: 0, count: 16)

    private var skillIDs: [String: Int32] = [:]

    private var placeIDs: [Whereabouts: Int32] = [:]
    private var places: [Whereabouts] = []
    private var buckets: [[Int32]] = []
    private var placesByGrid: [String: [Int32]] = [:]
    private var placesByCommunity: [String: [Int32]] = [:]
    private var placesByStreet: [String: [Int32]] = [:]
    private var placesByDistrict: [String: [Int32]] = [:]

    private var patternIDs: [[UInt16]: Int32] = [:]
    private var patterns: [[UInt16]] = []
    private var patternUsers: [Int32] = []
    private var freePatterns: [Int32] = []

    private var busy: [UUID: [TimeWindow]] = [:]
    private var households: [UUID: Set<UUID>] = [:]
    /// How many volunteers serve each household, so a need whose household nobody serves drops continuity from its bound.
    private var servers: [UUID: Int32] = [:]
    private var overflowSkills: [UUID: [Int32]] = [:]
    /// Never lowered: an upper bound, which is all the early stop needs.
    private var maxFairness = 20.0
    private var maxReliability = 20.0

    public init(calendar: Calendar) {
        self.calendar = calendar
        // The kinds first, so that the skill every need asks for (its kind) always has a bit.
        for kind in ServiceKind.allCases { _ = internSkill(kind.rawValue) }
    }

    public var count: Int { records.count }

    public func contains(_ id: UUID) -> Bool { find(id) != nil }

    /// Makes room for `capacity` volunteers in all, so a bulk load does not regrow its tables.
    public mutating func reserveCapacity(_ capacity: Int) {
        masks.reserveCapacity(capacity)
        records.reserveCapacity(capacity)
        if capacity * 10 > table.count * 7 { rehash(capacity: Self.tableSize(for: capacity)) }
    }

    /// Adds or replaces (same id) a volunteer.
    public mutating func upsert(_ volunteer: VolunteerProfile) {
        var mask = SkillMask()
        var overflow: [Int32] = []
        for skill in volunteer.skills {
            let id = internSkill(skill)
            if id < SkillMask.bits { mask.insert(Int(id)) } else { overflow.append(id) }
        }
        overflow.sort()
        let fairness = Matching.fairness(hoursThisMonth: volunteer.hoursThisMonth)
        let reliability = Matching.reliability(completed: volunteer.completed, noShows: volunteer.noShows, averageRating: volunteer.averageRating)
        if fairness > maxFairness { maxFairness = fairness }
        if reliability > maxReliability { maxReliability = reliability }
        var flags: UInt8 = 0
        if volunteer.paused { flags |= Record.paused }
        if !volunteer.busy.isEmpty { flags |= Record.busy }
        if !volunteer.households.isEmpty { flags |= Record.households }
        if !overflow.isEmpty { flags |= Record.overflow }
        let place = internPlace(volunteer.place)
        let pattern = retainPattern(Self.pattern(of: volunteer.availability))

        let index: Int
        if let existing = find(volunteer.id) {
            index = existing
            let old = records[index]
            releasePattern(old.pattern)
            if old.flags & Record.households != 0 { forgetHouseholds(of: old.id) }
            if old.place != place {
                takeOutOfBucket(index)
                records[index].place = place
                putInBucket(index)
            }
            masks[index] = mask
        } else {
            index = records.count
            if (index + 1) * 10 > table.count * 7 { rehash(capacity: table.count * 2) }
            masks.append(mask)
            records.append(Record(id: volunteer.id, fairness: 0, reliability: 0, place: place, bucketPosition: 0, pattern: 0, flags: 0))
            insertIntoTable(index)
            putInBucket(index)
        }
        records[index].fairness = fairness
        records[index].reliability = reliability
        records[index].pattern = pattern
        records[index].flags = flags
        busy[volunteer.id] = volunteer.busy.isEmpty ? nil : volunteer.busy
        overflowSkills[volunteer.id] = overflow.isEmpty ? nil : overflow
        if !volunteer.households.isEmpty {
            households[volunteer.id] = volunteer.households
            for household in volunteer.households { servers[household, default: 0] += 1 }
        }
    }

    /// Adds or replaces each volunteer in turn.
    public mutating func upsert(contentsOf volunteers: some Sequence<VolunteerProfile>) {
        for volunteer in volunteers { upsert(volunteer) }
    }

    public mutating func remove(_ id: UUID) {
        guard let index = find(id) else { return }
        let record = records[index]
        releasePattern(record.pattern)
        if record.flags & Record.households != 0 { forgetHouseholds(of: id) }
        busy[id] = nil
        overflowSkills[id] = nil
        takeOutOfBucket(index)
        deleteFromTable(index)
        let last = records.count - 1
        if index != last {
            let moved = records[last]
            masks[index] = masks[last]
            records[index] = moved
            buckets[Int(moved.place)][Int(moved.bucketPosition)] = Int32(index)
            let position = tablePosition(of: moved.id)!
            table[position] = Int32(index + 1)
        }
        masks.removeLast()
        records.removeLast()
    }

    /// Lays the records out place by place, so that scanning a place reads neighbouring memory. Rankings do not change.
    public mutating func regroup() {
        var order: [Int32] = []
        order.reserveCapacity(records.count)
        for bucket in buckets { order.append(contentsOf: bucket) }
        masks = order.map { masks[Int($0)] }
        records = order.map { records[Int($0)] }
        for place in buckets.indices { buckets[place].removeAll(keepingCapacity: true) }
        for index in records.indices {
            records[index].bucketPosition = Int32(buckets[Int(records[index].place)].count)
            buckets[Int(records[index].place)].append(Int32(index))
        }
        rehash(capacity: table.count)
    }

    /// Roughly how many bytes the index holds: its columns, tables and side tables (Swift's own overheads estimated).
    public var estimatedBytes: Int {
        var bytes = masks.capacity * MemoryLayout<SkillMask>.stride + records.capacity * MemoryLayout<Record>.stride
        bytes += table.capacity * MemoryLayout<Int32>.stride
        bytes += buckets.reduce(0) { $0 + 32 + $1.capacity * MemoryLayout<Int32>.stride }
        bytes += places.count * (MemoryLayout<Whereabouts>.stride * 2 + 4 * 16 + 4 * MemoryLayout<Int32>.stride)
        bytes += patterns.reduce(0) { $0 + 2 * (32 + $1.capacity * 2) + 8 }
        bytes += skillIDs.count * 48
        bytes += busy.reduce(0) { $0 + 64 + $1.value.capacity * MemoryLayout<TimeWindow>.stride }
        bytes += households.reduce(0) { $0 + 64 + $1.value.capacity * 16 * 4 / 3 }
        bytes += servers.count * 32
        bytes += overflowSkills.reduce(0) { $0 + 64 + $1.value.capacity * 4 }
        return bytes
    }

    /// Exactly what `Matching.rank(need, among: allVolunteers.filter { !excluding.contains($0.id) }, calendar:, limit:)`
    /// returns (same order, same scores), only fast.
    public func rank(_ need: NeedProfile, limit: Int = 10, excluding: Set<UUID> = []) -> [Match] {
        var examined = 0
        return rank(need, limit: limit, excluding: excluding, examined: &examined)
    }

    /// The same, adding to `examined` how many volunteers it looked at.
    public func rank(_ need: NeedProfile, limit: Int, excluding: Set<UUID>, examined: inout Int) -> [Match] {
        guard limit > 0, !records.isEmpty, var search = Search(need: need, limit: limit, excluding: excluding, index: self) else { return [] }
        let household = need.household.map { servers[$0, default: 0] > 0 } == true ? 10.0 : 0
        func beyondReach(_ nearness: Nearness) -> Bool {
            guard let worst = search.top.worstWhenFull else { return false }
            return worst > Matching.placePoints(nearness) + 20 + maxFairness + maxReliability + household
        }
        let place = need.place
        let tiers: [(Nearness, [Int32])] = [
            (.grid, place.grid.flatMap { placesByGrid[$0] } ?? []),
            (.community, place.community.flatMap { placesByCommunity[$0] } ?? []),
            (.street, place.street.flatMap { placesByStreet[$0] } ?? []),
            (.district, place.district.flatMap { placesByDistrict[$0] } ?? []),
        ]
        for (nearness, candidates) in tiers where !candidates.isEmpty {
            if beyondReach(nearness) { return search.top.result }
            let points = Matching.placePoints(nearness)
            for placeID in candidates where place.nearness(to: places[Int(placeID)]) == nearness {
                for index in buckets[Int(placeID)] {
                    examined += 1
                    if masks[Int(index)].contains(search.required) { consider(Int(index), points: points, nearness: nearness, search: &search) }
                }
            }
        }
        if beyondReach(.elsewhere) { return search.top.result }
        // The rest of the city: every record in storage order, skipping the places already scanned.
        var near = [Bool](repeating: false, count: places.count)
        for (_, candidates) in tiers {
            for placeID in candidates { near[Int(placeID)] = true }
        }
        examined += records.count
        for index in records.indices where masks[index].contains(search.required) && !near[Int(records[index].place)] {
            consider(index, points: 0, nearness: .elsewhere, search: &search)
        }
        return search.top.result
    }

    // MARK: - Ranking

    /// What one ranking works out once: the need's skills as masks, its windows as minutes of the week, and which
    /// availability patterns cover them (filled in as patterns turn up).
    private struct Search {
        let need: NeedProfile
        let required: SkillMask
        let requiredOverflow: [Int32]
        let wanted: SkillMask
        let wantedOverflow: [Int32]
        let wantedCount: Int
        let spans: [WeekSpan]
        let excluding: Set<UUID>
        /// Per pattern: 0 not yet known, 1 covers the need's windows, 2 does not.
        var coverage: [UInt8]
        var top: TopCandidates

        /// `nil` when nobody can be a candidate: a required skill no volunteer has, or a window no availability covers.
        init?(need: NeedProfile, limit: Int, excluding: Set<UUID>, index: CandidateIndex) {
            var required = SkillMask(), requiredOverflow: [Int32] = []
            for skill in need.skills {
                guard let id = index.skillIDs[skill] else { return nil }
                if id < SkillMask.bits { required.insert(Int(id)) } else { requiredOverflow.append(id) }
            }
            let wantedSkills = need.skills.union([need.kind.rawValue])
            var wanted = SkillMask(), wantedOverflow: [Int32] = []
            for skill in wantedSkills {
                guard let id = index.skillIDs[skill] else { continue }
                if id < SkillMask.bits { wanted.insert(Int(id)) } else { wantedOverflow.append(id) }
            }
            var spans: [WeekSpan] = []
            for window in need.windows {
                guard let span = WeekMinutes.span(of: window, calendar: index.calendar) else { return nil }
                spans.append(span)
            }
            self.need = need
            self.required = required
            self.requiredOverflow = requiredOverflow
            self.wanted = wanted
            self.wantedOverflow = wantedOverflow
            self.wantedCount = wantedSkills.count
            self.spans = spans
            self.excluding = excluding
            coverage = [UInt8](repeating: 0, count: index.patterns.count)
            top = TopCandidates(limit: limit)
        }
    }

    /// Checks the rest of what makes a candidate (the skill mask has passed) and scores them.
    private func consider(_ index: Int, points: Double, nearness: Nearness, search: inout Search) {
        let record = records[index]
        if record.flags & Record.paused != 0 { return }
        var extra: [Int32] = []
        if record.flags & Record.overflow != 0 { extra = overflowSkills[record.id] ?? [] }
        if !search.requiredOverflow.isEmpty, !search.requiredOverflow.allSatisfy(extra.contains) { return }
        let pattern = Int(record.pattern)
        if search.coverage[pattern] == 0 {
            let intervals = patterns[pattern]
            search.coverage[pattern] = search.spans.allSatisfy { Self.intervals(intervals, cover: $0) } ? 1 : 2
        }
        if search.coverage[pattern] != 1 { return }
        if record.flags & Record.busy != 0, let confirmed = busy[record.id],
            search.need.windows.contains(where: { window in confirmed.contains { $0.overlaps(window) } })
        {
            return
        }
        if !search.excluding.isEmpty, search.excluding.contains(record.id) { return }
        var matched = masks[index].common(search.wanted)
        if !extra.isEmpty { matched += search.wantedOverflow.count(where: extra.contains) }
        var continuity = 0.0
        if let household = search.need.household, record.flags & Record.households != 0, households[record.id]?.contains(household) == true {
            continuity = 10
        }
        let score = Score(
            place: points, skills: Matching.skillPoints(matched: matched, of: search.wantedCount), fairness: record.fairness,
            reliability: record.reliability, continuity: continuity, nearness: nearness)
        search.top.offer(Match(volunteer: record.id, score: score))
    }

    // MARK: - Availability patterns

    /// The minutes of the week the slots cover, as sorted, merged `[from, to)` pairs within 0 ... 10,080.
    static func pattern(of slots: [WeeklySlot]) -> [UInt16] {
        let week = WeekMinutes.perWeek
        var pieces: [(from: Int, to: Int)] = []
        for slot in slots where slot.length > 0 {
            if slot.length >= week {
                pieces.append((0, week))
                continue
            }
            let from = (slot.weekStart % week + week) % week
            let to = from + slot.length
            if to <= week {
                pieces.append((from, to))
            } else {
                pieces.append((from, week))
                pieces.append((0, to - week))
            }
        }
        pieces.sort { $0.from < $1.from }
        var merged: [UInt16] = []
        for piece in pieces {
            if let end = merged.last, piece.from <= Int(end) {
                merged[merged.count - 1] = UInt16(max(Int(end), piece.to))
            } else {
                merged.append(UInt16(piece.from))
                merged.append(UInt16(piece.to))
            }
        }
        return merged
    }

    /// Whether merged intervals cover a span; a span running past Sunday 24:00 goes on from Monday 00:00.
    static func intervals(_ intervals: [UInt16], cover span: WeekSpan) -> Bool {
        let week = WeekMinutes.perWeek
        let end = span.start + span.length
        if end <= week { return hold(intervals, span.start, end) }
        return hold(intervals, span.start, week) && hold(intervals, 0, end - week)
    }

    private static func hold(_ intervals: [UInt16], _ from: Int, _ to: Int) -> Bool {
        var pair = 0
        while pair < intervals.count {
            if Int(intervals[pair]) <= from { if to <= Int(intervals[pair + 1]) { return true } } else { return false }
            pair += 2
        }
        return false
    }

    private mutating func retainPattern(_ intervals: [UInt16]) -> Int32 {
        if let id = patternIDs[intervals] {
            patternUsers[Int(id)] += 1
            return id
        }
        let id: Int32
        if let free = freePatterns.popLast() {
            id = free
            patterns[Int(id)] = intervals
            patternUsers[Int(id)] = 1
        } else {
            id = Int32(patterns.count)
            patterns.append(intervals)
            patternUsers.append(1)
        }
        patternIDs[intervals] = id
        return id
    }

    private mutating func releasePattern(_ id: Int32) {
        patternUsers[Int(id)] -= 1
        guard patternUsers[Int(id)] == 0 else { return }
        patternIDs[patterns[Int(id)]] = nil
        patterns[Int(id)] = []
        freePatterns.append(id)
    }

    // MARK: - Skills, places, households

    private mutating func internSkill(_ skill: String) -> Int32 {
        if let id = skillIDs[skill] { return id }
        let id = Int32(skillIDs.count)
        skillIDs[skill] = id
        return id
    }

    private mutating func internPlace(_ place: Whereabouts) -> Int32 {
        if let id = placeIDs[place] { return id }
        let id = Int32(places.count)
        placeIDs[place] = id
        places.append(place)
        buckets.append([])
        if let grid = place.grid { placesByGrid[grid, default: []].append(id) }
        if let community = place.community { placesByCommunity[community, default: []].append(id) }
        if let street = place.street { placesByStreet[street, default: []].append(id) }
        if let district = place.district { placesByDistrict[district, default: []].append(id) }
        return id
    }

    private mutating func putInBucket(_ index: Int) {
        let place = Int(records[index].place)
        records[index].bucketPosition = Int32(buckets[place].count)
        buckets[place].append(Int32(index))
    }

    private mutating func takeOutOfBucket(_ index: Int) {
        let place = Int(records[index].place)
        let position = Int(records[index].bucketPosition)
        let last = buckets[place].removeLast()
        if position < buckets[place].count {
            buckets[place][position] = last
            records[Int(last)].bucketPosition = Int32(position)
        }
    }

    private mutating func forgetHouseholds(of id: UUID) {
        guard let served = households.removeValue(forKey: id) else { return }
        for household in served {
            let left = servers[household, default: 1] - 1
            servers[household] = left > 0 ? left : nil
        }
    }

    // MARK: - The id table

    private static func tableSize(for count: Int) -> Int {
        var size = 16
        while size * 7 < count * 10 { size *= 2 }
        return size
    }

    private static func hash(_ id: UUID) -> Int {
        let key = IDKey(id)
        var bits = key.high ^ (key.low &* 0x9E37_79B9_7F4A_7C15)
        bits = (bits ^ (bits >> 30)) &* 0xBF58_476D_1CE4_E5B9
        bits = (bits ^ (bits >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: bits ^ (bits >> 31))
    }

    private func tablePosition(of id: UUID) -> Int? {
        let mask = table.count - 1
        var position = Self.hash(id) & mask
        while table[position] != 0 {
            if records[Int(table[position]) - 1].id == id { return position }
            position = (position + 1) & mask
        }
        return nil
    }

    private func find(_ id: UUID) -> Int? { tablePosition(of: id).map { Int(table[$0]) - 1 } }

    private mutating func insertIntoTable(_ index: Int) {
        let mask = table.count - 1
        var position = Self.hash(records[index].id) & mask
        while table[position] != 0 { position = (position + 1) & mask }
        table[position] = Int32(index + 1)
    }

    /// Backward-shift deletion, so that no tombstones build up.
    private mutating func deleteFromTable(_ index: Int) {
        let mask = table.count - 1
        guard var hole = tablePosition(of: records[index].id) else { return }
        var next = hole
        while true {
            next = (next + 1) & mask
            guard table[next] != 0 else { break }
            let home = Self.hash(records[Int(table[next]) - 1].id) & mask
            // The entry at `next` may fill the hole only if its home is not cyclically within (hole, next].
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if !stays {
                table[hole] = table[next]
                hole = next
            }
        }
        table[hole] = 0
    }

    private mutating func rehash(capacity: Int) {
        table = Array(repeating: 0, count: capacity)
        for index in records.indices { insertIntoTable(index) }
    }
}

/// Skills as bits: interned skill `i` below 128 is bit `i`.
struct SkillMask: Sendable, Hashable {
    static let bits: Int32 = 128
    var low: UInt64 = 0
    var high: UInt64 = 0

    mutating func insert(_ bit: Int) {
        if bit < 64 { low |= 1 << UInt64(bit) } else { high |= 1 << UInt64(bit - 64) }
    }

    func contains(_ other: SkillMask) -> Bool { low & other.low == other.low && high & other.high == other.high }

    func common(_ other: SkillMask) -> Int { (low & other.low).nonzeroBitCount + (high & other.high).nonzeroBitCount }
}

/// A volunteer as the index keeps them, a plain 48-byte value.
private struct Record: Sendable {
    static let paused: UInt8 = 1
    static let busy: UInt8 = 2
    static let households: UInt8 = 4
    static let overflow: UInt8 = 8

    var id: UUID
    var fairness: Double
    var reliability: Double
    var place: Int32
    var bucketPosition: Int32
    var pattern: Int32
    var flags: UInt8
}

/// A UUID's bytes as two big-endian words: comparing them is comparing the bytes, which is comparing the `uuidString`s.
struct IDKey: Comparable, Sendable {
    var high: UInt64
    var low: UInt64

    init(_ id: UUID) {
        (high, low) = withUnsafeBytes(of: id.uuid) { bytes in
            (UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    static func < (a: IDKey, b: IDKey) -> Bool { a.high != b.high ? a.high < b.high : a.low < b.low }
}

/// The best candidates so far, best first: higher total, then smaller id. Bounded for a small limit; for a large one it
/// keeps everything and sorts at the end.
struct TopCandidates {
    private static let boundedLimit = 256
    let limit: Int
    private var held: [(match: Match, key: IDKey)] = []

    init(limit: Int) { self.limit = limit }

    private static func better(_ a: (match: Match, key: IDKey), than b: (match: Match, key: IDKey)) -> Bool {
        a.match.score.total != b.match.score.total ? a.match.score.total > b.match.score.total : a.key < b.key
    }

    /// The worst held total once `limit` are held (and they are kept in order).
    var worstWhenFull: Double? {
        limit <= Self.boundedLimit && held.count >= limit ? held[held.count - 1].match.score.total : nil
    }

    mutating func offer(_ match: Match) {
        let candidate = (match: match, key: IDKey(match.volunteer))
        guard limit <= Self.boundedLimit else {
            held.append(candidate)
            return
        }
        if held.count == limit {
            guard Self.better(candidate, than: held[limit - 1]) else { return }
            held.removeLast()
        }
        var position = held.count
        while position > 0, Self.better(candidate, than: held[position - 1]) { position -= 1 }
        held.insert(candidate, at: position)
    }

    var result: [Match] {
        if limit <= Self.boundedLimit { return held.map(\.match) }
        return held.sorted(by: Self.better).prefix(limit).map(\.match)
    }
}
