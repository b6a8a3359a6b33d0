import Foundation

/// The volunteers of a city, held so that the candidates for one need are found among a million in milliseconds.
///
/// `rank` returns exactly what `Matching.rank` returns over the same volunteers (same order, same scores); only the work
/// differs. The reference scores every volunteer; the index looks where the points are and stops when nobody it has not
/// looked at could still enter:
///
/// - **Regulars first.** Volunteers who already serve the need's household (continuity, 10 points) are few and are
///   looked up directly, so every bound below leaves continuity out.
/// - **Places.** Each distinct place (grid, community, street, district) is interned once and keeps a bucket of the
///   volunteers there. A need scans its grid, then its community, street and district, then the rest of the city. How
///   near a volunteer is depends only on their place, so each bucket is scanned in the one tier its place belongs to, and
///   nobody is seen twice.
/// - **The early stop.** Apart from place, a score is skills (at most 20) plus fairness and reliability, which do not
///   depend on the need. Each bucket is kept in falling order of fairness + reliability (in eighths of a point), so a
///   bucket scan stops at the first volunteer whose best possible total — place + 20 + their level's ceiling — is below
///   the worst of the `limit` held; a whole tier is skipped when the best level in the index cannot reach it. "Below" is
///   strict: a tie could still win on the smaller id.
/// - **Compact storage.** Per volunteer: a 20-byte bucket entry — the 96-bit skill mask (skills interned to bits, the
///   kinds first; skills past the 96th kept in an exact side list), the record's index and the level —, so a volunteer
///   without the required skills costs one sequential read; and a 28-byte record: the id, the place, the interned
///   fairness and reliability parts — computed once with the reference's own formulas; few distinct pairs exist, since
///   they come from a handful of counts — and the interned availability pattern.
///   Patterns are merged minute-of-week intervals that volunteers share; a ranking works out once per pattern whether it
///   covers the need's windows. Busy windows, households served and overflow skills live in pooled side lists reached
///   through flags. An open-addressing table maps ids to records; removal moves the last record into the hole.
///
/// Statistics are expected to be numbers (the reference's own order is undefined for a NaN score).
public struct CandidateIndex: Sendable {
    public let calendar: Calendar

    private var records: [Record] = []
    /// Open addressing, linear probing: record index + 1, 0 when empty. Any size (not only powers of two).
    private var table: [Int32] = Array(repeating: 0, count: 16)

    private var skillIDs: [String: Int32] = [:]

    private var placeIDs: [Whereabouts: Int32] = [:]
    private var places: [Whereabouts] = []
    /// Per place, its volunteers in falling order of level.
    private var buckets = PlaceBuckets()
    private var placesByGrid: [String: [Int32]] = [:]
    private var placesByCommunity: [String: [Int32]] = [:]
    private var placesByStreet: [String: [Int32]] = [:]
    private var placesByDistrict: [String: [Int32]] = [:]

    private var patterns = Interner<[UInt16]>()
    private var standings = Interner<Standing>()
    /// The highest level any volunteer has had: never lowered between regroups, an upper bound is all the stop needs.
    private var levelCeiling = Record.level(fairness: 20, reliability: 20)

    private var busy = SideLists<TimeWindow>()
    private var households = SideLists<UUID>()
    /// Who serves each household.
    private var regulars = SideLists<UUID>()
    private var overflowSkills = SideLists<Int32>()

    public init(calendar: Calendar) {
        self.calendar = calendar
        // The kinds first, so that the skill every need asks for (its kind) always has a bit.
        for kind in ServiceKind.allCases { _ = internSkill(kind.rawValue) }
    }

    public var count: Int { records.count }

    public func contains(_ id: UUID) -> Bool { find(id) != nil }

    /// Makes room for `capacity` volunteers in all, so a bulk load does not regrow its tables.
    public mutating func reserveCapacity(_ capacity: Int) {
        records.reserveCapacity(capacity)
        if capacity * 10 > table.count * 7 { rehash(capacity: capacity * 10 / 7 + 16) }
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
        let reliability = Matching.reliability(
            completed: volunteer.completed, noShows: volunteer.noShows, averageRating: volunteer.averageRating)
        let level = Record.level(fairness: fairness, reliability: reliability)
        let standing = standings.retain(Standing(fairness: fairness, reliability: reliability))
        levelCeiling = max(levelCeiling, level)
        var flags: UInt32 = 0
        if volunteer.paused { flags |= Record.paused }
        if !volunteer.busy.isEmpty { flags |= Record.busy }
        if !volunteer.households.isEmpty { flags |= Record.households }
        if !overflow.isEmpty { flags |= Record.overflow }
        let place = internPlace(volunteer.place)
        let pattern = patterns.retain(Self.pattern(of: volunteer.availability))
        precondition(UInt32(pattern) <= Record.patternMask, "too many distinct weekly availabilities")
        let record = Record(id: volunteer.id, place: place, standing: standing, patternAndFlags: UInt32(pattern) | flags)

        if let index = find(volunteer.id) {
            let old = records[index]
            let moves = old.place != place || self.level(of: old) != level
            if moves { takeOutOfBucket(index) }
            patterns.release(Int32(old.pattern))
            standings.release(old.standing)
            if old.has(Record.households) { forgetHouseholds(of: old.id) }
            records[index] = record
            if moves { putInBucket(index, mask: mask) } else { buckets[bucketPosition(of: index)].mask = mask }
        } else {
            let index = records.count
            if (index + 1) * 10 > table.count * 7 { rehash(capacity: table.count * 2) }
            records.append(record)
            insertIntoTable(index)
            putInBucket(index, mask: mask)
        }
        busy.set(volunteer.id, to: volunteer.busy)
        overflowSkills.set(volunteer.id, to: overflow)
        if !volunteer.households.isEmpty {
            households.set(volunteer.id, to: volunteer.households)
            for household in volunteer.households { regulars.set(household, to: (regulars[household] ?? []) + [volunteer.id]) }
        }
    }

    /// Adds or replaces each volunteer in turn.
    public mutating func upsert(contentsOf volunteers: some Sequence<VolunteerProfile>) {
        for volunteer in volunteers { upsert(volunteer) }
    }

    public mutating func remove(_ id: UUID) {
        guard let index = find(id) else { return }
        let record = records[index]
        takeOutOfBucket(index)
        patterns.release(Int32(record.pattern))
        standings.release(record.standing)
        if record.has(Record.households) { forgetHouseholds(of: id) }
        busy.set(id, to: [])
        overflowSkills.set(id, to: [])
        deleteFromTable(index)
        let last = records.count - 1
        if index != last {
            let moved = records[last]
            buckets[bucketPosition(of: last)].slot = Int32(index)
            records[index] = moved
            table[tablePosition(of: moved.id)!] = Int32(index + 1)
        }
        records.removeLast()
    }

    /// Lays the records out place by place, in bucket order, so that scanning a place reads neighbouring memory; squeezes
    /// the buckets' spare room and brings the level ceiling back down to the volunteers there are. Rankings do not change.
    public mutating func regroup() {
        // New record i is old record order[i]: moved in place, cycle by cycle, so the records are never held twice.
        let order = buckets.renumber()
        var placed = [Bool](repeating: false, count: order.count)
        for start in order.indices where !placed[start] {
            let first = records[start]
            var index = start
            while true {
                placed[index] = true
                let from = Int(order[index])
                if from == start {
                    records[index] = first
                    break
                }
                records[index] = records[from]
                index = from
            }
        }
        levelCeiling = buckets.topLevels.reduce(Record.level(fairness: 20, reliability: 20), max)
        rehash(capacity: table.count)
    }

    /// Roughly how many bytes the index holds: its columns, tables and side tables (Swift's own overheads estimated).
    public var estimatedBytes: Int {
        var bytes = records.capacity * MemoryLayout<Record>.stride
        bytes += table.capacity * MemoryLayout<Int32>.stride
        bytes += buckets.estimatedBytes
        bytes += places.count * (MemoryLayout<Whereabouts>.stride * 2 + 4 * 16 + 4 * MemoryLayout<Int32>.stride)
        bytes += patterns.estimatedBytes { 32 + $0.capacity * 2 }
        bytes += standings.estimatedBytes { _ in 0 }
        bytes += skillIDs.count * 48
        bytes += busy.estimatedBytes + households.estimatedBytes + regulars.estimatedBytes + overflowSkills.estimatedBytes
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
        guard limit > 0, !records.isEmpty, var search = Search(need: need, limit: limit, excluding: excluding, index: self) else {
            return []
        }
        let place = need.place
        // Those who already serve the household, wherever they are; the scans below skip them.
        if let household = need.household {
            for id in regulars[household] ?? [] {
                guard let index = find(id) else { continue }
                examined += 1
                let placeID = Int(records[index].place)
                let nearness = place.nearness(to: places[placeID])
                let mask = buckets[bucketPosition(of: index)].mask
                if mask.contains(search.required) {
                    consider(index, mask: mask, points: Matching.placePoints(nearness), nearness: nearness, regular: true, search: &search)
                }
            }
        }
        let tiers: [(Nearness, [Int32])] = [
            (.grid, place.grid.flatMap { placesByGrid[$0] } ?? []),
            (.community, place.community.flatMap { placesByCommunity[$0] } ?? []),
            (.street, place.street.flatMap { placesByStreet[$0] } ?? []),
            (.district, place.district.flatMap { placesByDistrict[$0] } ?? []),
        ]
        for (nearness, candidates) in tiers where !candidates.isEmpty {
            let points = Matching.placePoints(nearness)
            if let worst = search.top.worstWhenFull, Self.ceiling(points, levelCeiling) < worst { return search.top.result }
            for placeID in candidates where place.nearness(to: places[Int(placeID)]) == nearness {
                scan(Int(placeID), points: points, nearness: nearness, search: &search, examined: &examined)
            }
        }
        if let worst = search.top.worstWhenFull, Self.ceiling(0, levelCeiling) < worst { return search.top.result }
        // The rest of the city: every place not scanned above.
        var near = [Bool](repeating: false, count: places.count)
        for (_, candidates) in tiers {
            for placeID in candidates { near[Int(placeID)] = true }
        }
        for placeID in places.indices where !near[placeID] {
            scan(placeID, points: 0, nearness: .elsewhere, search: &search, examined: &examined)
        }
        return search.top.result
    }

    // MARK: - Ranking

    /// The most a volunteer of `level` can total at `points` for place, without continuity: points + 20 for skills +
    /// the level's ceiling, with a margin far above the rounding of the reference's sums.
    private static func ceiling(_ points: Double, _ level: Int32) -> Double {
        level == Record.unbounded ? .infinity : points + 20 + Double(level + 1) / Record.levelsPerPoint + 1e-6
    }

    /// Scans one place's bucket, best level first, until nobody left in it could enter.
    private func scan(_ placeID: Int, points: Double, nearness: Nearness, search: inout Search, examined: inout Int) {
        if let worst = search.top.worstWhenFull, Self.ceiling(points, buckets.topLevels[placeID]) < worst { return }
        for position in buckets.positions(of: placeID) {
            let entry = buckets[position]
            if let worst = search.top.worstWhenFull, Self.ceiling(points, entry.level) < worst { return }
            examined += 1
            if entry.mask.contains(search.required) {
                consider(Int(entry.slot), mask: entry.mask, points: points, nearness: nearness, regular: false, search: &search)
            }
        }
    }

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

    /// Checks the rest of what makes a candidate (the skill mask has passed) and scores them. A regular of the need's
    /// household is scored when `regular` is set, and skipped otherwise (they were scored first).
    private func consider(_ index: Int, mask: SkillMask, points: Double, nearness: Nearness, regular: Bool, search: inout Search) {
        let record = records[index]
        if record.has(Record.paused) { return }
        let standing = standings[record.standing]
        var continuity = 0.0
        if let household = search.need.household, record.has(Record.households), households[record.id]?.contains(household) == true {
            continuity = 10
        }
        if (continuity > 0) != regular { return }
        var extra: ArraySlice<Int32> = []
        if record.has(Record.overflow) { extra = overflowSkills[record.id] ?? [] }
        if !search.requiredOverflow.isEmpty, !search.requiredOverflow.allSatisfy(extra.contains) { return }
        let pattern = record.pattern
        if search.coverage[pattern] == 0 {
            let intervals = patterns[Int32(pattern)]
            search.coverage[pattern] = search.spans.allSatisfy { Self.intervals(intervals, cover: $0) } ? 1 : 2
        }
        if search.coverage[pattern] != 1 { return }
        if record.has(Record.busy), let confirmed = busy[record.id],
            search.need.windows.contains(where: { window in confirmed.contains { $0.overlaps(window) } })
        {
            return
        }
        if !search.excluding.isEmpty, search.excluding.contains(record.id) { return }
        var matched = mask.common(search.wanted)
        if !extra.isEmpty { matched += search.wantedOverflow.count(where: extra.contains) }
        let score = Score(
            place: points, skills: Matching.skillPoints(matched: matched, of: search.wantedCount), fairness: standing.fairness,
            reliability: standing.reliability, continuity: continuity, nearness: nearness)
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
        buckets.addPlace()
        if let grid = place.grid { placesByGrid[grid, default: []].append(id) }
        if let community = place.community { placesByCommunity[community, default: []].append(id) }
        if let street = place.street { placesByStreet[street, default: []].append(id) }
        if let district = place.district { placesByDistrict[district, default: []].append(id) }
        return id
    }

    /// Where a record's entry sits: from the first entry of its level in its place, along the equal levels.
    private func bucketPosition(of index: Int) -> Int {
        let record = records[index]
        let place = Int(record.place)
        let level = level(of: record)
        var position =
            level == Record.unbounded ? buckets.positions(of: place).lowerBound : buckets.firstPosition(in: place, below: level + 1)
        while buckets[position].slot != Int32(index) { position += 1 }
        return position
    }

    private mutating func putInBucket(_ index: Int, mask: SkillMask) {
        let record = records[index]
        buckets.insert(BucketEntry(mask: mask, slot: Int32(index), level: level(of: record)), into: Int(record.place))
    }

    private func level(of record: Record) -> Int32 {
        let standing = standings[record.standing]
        return Record.level(fairness: standing.fairness, reliability: standing.reliability)
    }

    private mutating func takeOutOfBucket(_ index: Int) {
        buckets.remove(at: bucketPosition(of: index), from: Int(records[index].place))
    }

    private mutating func forgetHouseholds(of id: UUID) {
        guard let served = households[id] else { return }
        for household in served { regulars.set(household, to: (regulars[household] ?? []).filter { $0 != id }) }
        households.set(id, to: [])
    }

    // MARK: - The id table

    /// Where an id's probe starts: its mixed bits scaled onto the table (multiply and shift, no power of two needed).
    private func home(_ id: UUID) -> Int {
        let key = IDKey(id)
        var bits = key.high ^ (key.low &* 0x9E37_79B9_7F4A_7C15)
        bits = (bits ^ (bits >> 30)) &* 0xBF58_476D_1CE4_E5B9
        bits = (bits ^ (bits >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((bits ^ (bits >> 31)).multipliedFullWidth(by: UInt64(table.count)).high)
    }

    private func after(_ position: Int) -> Int { position + 1 == table.count ? 0 : position + 1 }

    private func tablePosition(of id: UUID) -> Int? {
        var position = home(id)
        while table[position] != 0 {
            if records[Int(table[position]) - 1].id == id { return position }
            position = after(position)
        }
        return nil
    }

    private func find(_ id: UUID) -> Int? { tablePosition(of: id).map { Int(table[$0]) - 1 } }

    private mutating func insertIntoTable(_ index: Int) {
        var position = home(records[index].id)
        while table[position] != 0 { position = after(position) }
        table[position] = Int32(index + 1)
    }

    /// Backward-shift deletion, so that no tombstones build up.
    private mutating func deleteFromTable(_ index: Int) {
        guard var hole = tablePosition(of: records[index].id) else { return }
        var next = hole
        while true {
            next = after(next)
            guard table[next] != 0 else { break }
            let home = home(records[Int(table[next]) - 1].id)
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

/// A volunteer's entry in their place's bucket: what a scan reads for everyone it passes, 20 bytes.
private struct BucketEntry: Sendable {
    static let vacant = BucketEntry(mask: SkillMask(), slot: -1, level: Int32.min)
    var mask: SkillMask
    var slot: Int32
    var level: Int32
}

/// Every place's bucket in one flat array, so that a scan reads contiguous memory and a million entries are one
/// allocation. Each place owns a range with some room to grow; a full range moves to the end with twice the room, and
/// the ranges left behind are squeezed out once they make up half the array.
private struct PlaceBuckets: Sendable {
    private struct Span: Sendable {
        var start: Int32
        var count: Int32
        var capacity: Int32
    }

    private var entries: [BucketEntry] = []
    private var spans: [Span] = []
    /// Per place, the level of its first entry (`Int32.min` when empty), apart from the entries so that a scan can pass
    /// over a place without touching them.
    private(set) var topLevels: [Int32] = []
    private var abandoned = 0

    subscript(position: Int) -> BucketEntry {
        get { entries[position] }
        set { entries[position] = newValue }
    }

    mutating func addPlace() {
        spans.append(Span(start: Int32(entries.count), count: 0, capacity: 0))
        topLevels.append(Int32.min)
    }

    func positions(of place: Int) -> Range<Int> {
        let span = spans[place]
        return Int(span.start)..<Int(span.start + span.count)
    }

    /// The first position in the place's range (levels falling along it) whose level is below `level`.
    func firstPosition(in place: Int, below level: Int32) -> Int {
        var low = positions(of: place).lowerBound, high = positions(of: place).upperBound
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].level < level { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Inserts after the entries of the same or a higher level.
    mutating func insert(_ entry: BucketEntry, into place: Int) {
        var span = spans[place]
        if span.count == span.capacity {
            let moving = Array(entries[positions(of: place)])
            abandoned += Int(span.capacity)
            span.start = Int32(entries.count)
            span.capacity = max(4, span.capacity * 2)
            entries.append(contentsOf: moving)
            entries.append(contentsOf: repeatElement(.vacant, count: Int(span.capacity) - moving.count))
            spans[place] = span
        }
        let position = firstPosition(in: place, below: entry.level)
        var shifting = Int(span.start + span.count)
        while shifting > position {
            entries[shifting] = entries[shifting - 1]
            shifting -= 1
        }
        entries[position] = entry
        span.count += 1
        spans[place] = span
        if position == Int(span.start) { topLevels[place] = entry.level }
        if abandoned > 4_096, abandoned * 2 > entries.count { squeeze() }
    }

    mutating func remove(at position: Int, from place: Int) {
        var span = spans[place]
        let end = Int(span.start + span.count)
        for shifting in position..<(end - 1) { entries[shifting] = entries[shifting + 1] }
        entries[end - 1] = .vacant
        span.count -= 1
        spans[place] = span
        if position == Int(span.start) { topLevels[place] = span.count > 0 ? entries[position].level : Int32.min }
    }

    /// Copies every range to a fresh array, in place order, with room for a sixteenth more (at least one).
    private mutating func squeeze() {
        var fresh: [BucketEntry] = []
        fresh.reserveCapacity(spans.reduce(0) { $0 + Int($1.count) + Int($1.count) / 16 + 1 })
        for place in spans.indices {
            let start = fresh.count
            fresh.append(contentsOf: entries[positions(of: place)])
            let count = spans[place].count
            fresh.append(contentsOf: repeatElement(.vacant, count: Int(count) / 16 + 1))
            spans[place] = Span(start: Int32(start), count: count, capacity: Int32(fresh.count - start))
        }
        entries = fresh
        abandoned = 0
    }

    /// Squeezes, then numbers the entries' slots in place order; returns the old slot of each new one.
    mutating func renumber() -> [Int32] {
        squeeze()
        var order: [Int32] = []
        order.reserveCapacity(spans.reduce(0) { $0 + Int($1.count) })
        for place in spans.indices {
            for position in positions(of: place) {
                order.append(entries[position].slot)
                entries[position].slot = Int32(order.count - 1)
            }
        }
        return order
    }

    var estimatedBytes: Int {
        entries.capacity * MemoryLayout<BucketEntry>.stride + spans.capacity * MemoryLayout<Span>.stride + topLevels.capacity * 4
    }
}

/// Short lists keyed by id (a volunteer's busy windows, households, overflow skills; a household's regulars), all in one
/// flat array: a list that changes length moves to the end, and the gaps are squeezed out once they are half of it.
struct SideLists<Element: Sendable>: Sendable {
    private struct Span: Sendable {
        var start: Int32
        var count: Int32
    }

    private var spans: [UUID: Span] = [:]
    private var storage: [Element] = []
    private var abandoned = 0

    subscript(id: UUID) -> ArraySlice<Element>? {
        spans[id].map { storage[Int($0.start)..<Int($0.start + $0.count)] }
    }

    /// Sets the list for `id`; an empty one removes it.
    mutating func set(_ id: UUID, to elements: some Collection<Element>) {
        if let old = spans[id] {
            if Int(old.count) == elements.count {
                storage.replaceSubrange(Int(old.start)..<Int(old.start + old.count), with: elements)
                return
            }
            abandoned += Int(old.count)
            spans[id] = nil
        }
        if !elements.isEmpty {
            spans[id] = Span(start: Int32(storage.count), count: Int32(elements.count))
            storage.append(contentsOf: elements)
        }
        if abandoned > 4_096, abandoned * 2 > storage.count { squeeze() }
    }

    private mutating func squeeze() {
        var fresh: [Element] = []
        fresh.reserveCapacity(storage.count - abandoned)
        spans = spans.mapValues { span in
            defer { fresh.append(contentsOf: storage[Int(span.start)..<Int(span.start + span.count)]) }
            return Span(start: Int32(fresh.count), count: span.count)
        }
        storage = fresh
        abandoned = 0
    }

    var estimatedBytes: Int {
        spans.capacity * (MemoryLayout<UUID>.stride + MemoryLayout<Span>.stride) + storage.capacity * MemoryLayout<Element>.stride
    }
}

/// A volunteer as the index keeps them: a plain 28-byte value.
private struct Record: Sendable {
    static let paused: UInt32 = 1 << 31
    static let busy: UInt32 = 1 << 30
    static let households: UInt32 = 1 << 29
    static let overflow: UInt32 = 1 << 28
    static let patternMask: UInt32 = (1 << 28) - 1
    static let levelsPerPoint = 8.0
    /// For parts too large (or not numbers) to bound: such a volunteer is never skipped.
    static let unbounded = Int32.max

    var id: UUID
    var place: Int32
    var standing: Int32
    var patternAndFlags: UInt32

    var pattern: Int { Int(patternAndFlags & Self.patternMask) }
    func has(_ flag: UInt32) -> Bool { patternAndFlags & flag != 0 }

    /// ⌊(fairness + reliability) × 8⌋ for parts of sane size (each within ±1,000, where a sum's rounding is far below the
    /// margin `ceiling` adds); `unbounded` otherwise.
    static func level(fairness: Double, reliability: Double) -> Int32 {
        guard abs(fairness) < 1_000, abs(reliability) < 1_000 else { return unbounded }
        return Int32(((fairness + reliability) * levelsPerPoint).rounded(.down))
    }
}

/// A volunteer's fairness and reliability parts. Equal means the same bits, so that interning never merges values a score
/// would print differently.
private struct Standing: Hashable, Sendable {
    var fairness: Double
    var reliability: Double

    static func == (a: Standing, b: Standing) -> Bool {
        a.fairness.bitPattern == b.fairness.bitPattern && a.reliability.bitPattern == b.reliability.bitPattern
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(fairness.bitPattern)
        hasher.combine(reliability.bitPattern)
    }
}

/// Values shared by many volunteers, stored once and counted, so that a value nobody uses any more is dropped.
struct Interner<Value: Hashable & Sendable>: Sendable {
    private var values: [Value] = []
    private var ids: [Value: Int32] = [:]
    private var users: [Int32] = []
    private var free: [Int32] = []

    /// How many ids have been handed out (some may be free again).
    var count: Int { values.count }

    subscript(id: Int32) -> Value { values[Int(id)] }

    mutating func retain(_ value: Value) -> Int32 {
        if let id = ids[value] {
            users[Int(id)] += 1
            return id
        }
        let id: Int32
        if let reused = free.popLast() {
            id = reused
            values[Int(id)] = value
            users[Int(id)] = 1
        } else {
            id = Int32(values.count)
            values.append(value)
            users.append(1)
        }
        ids[value] = id
        return id
    }

    mutating func release(_ id: Int32) {
        users[Int(id)] -= 1
        if users[Int(id)] == 0 {
            ids[values[Int(id)]] = nil
            free.append(id)
        }
    }

    func estimatedBytes(_ size: (Value) -> Int) -> Int {
        values.reduce(0) { $0 + 2 * size($1) + 2 * MemoryLayout<Value>.stride + 16 }
    }
}

/// Skills as bits: interned skill `i` below 96 is bit `i`. Three 32-bit words, so that a bucket entry packs into 20 bytes.
struct SkillMask: Sendable, Hashable {
    static let bits: Int32 = 96
    var first: UInt32 = 0
    var second: UInt32 = 0
    var third: UInt32 = 0

    mutating func insert(_ bit: Int) {
        switch bit {
        case 0..<32: first |= 1 << UInt32(bit)
        case 32..<64: second |= 1 << UInt32(bit - 32)
        default: third |= 1 << UInt32(bit - 64)
        }
    }

    func contains(_ other: SkillMask) -> Bool {
        first & other.first == other.first && second & other.second == other.second && third & other.third == other.third
    }

    func common(_ other: SkillMask) -> Int {
        (first & other.first).nonzeroBitCount + (second & other.second).nonzeroBitCount + (third & other.third).nonzeroBitCount
    }
}

/// A UUID's bytes as two big-endian words: comparing them is comparing the bytes, which is comparing the `uuidString`s.
struct IDKey: Comparable, Sendable {
    var high: UInt64
    var low: UInt64

    init(_ id: UUID) {
        (high, low) = withUnsafeBytes(of: id.uuid) { bytes in
            (
                UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
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
