import Contracts
import Foundation
import RegistryCore

/// A district system, imitated: a seeded, repeatable stream of household registrations (each with its
/// residents), disputes and service needs for one district, for load tests, demos and integration
/// rehearsals. The same seed, places and start time give the same events, ids included.
public struct DistrictSimulator: Sendable {
    /// The district's places the stream refers to (the registry must know them, or it refuses the records).
    public struct Places: Sendable, Equatable {
        public var grids: [String]
        public var buildings: [String]

        public init(grids: [String], buildings: [String]) {
            self.grids = grids.sorted()
            self.buildings = buildings.sorted()
        }
    }

    /// Shares of the stream, per hundred steps.
    public struct Mix: Sendable, Equatable {
        public var households = 60
        public var disputes = 20
        public var needs = 20

        public init(households: Int = 60, disputes: Int = 20, needs: Int = 20) {
            self.households = households
            self.disputes = disputes
            self.needs = needs
        }
    }

    public let district: String
    public let places: Places
    public let mix: Mix
    /// How long after their registration residents appear in disputes and needs: the services take a
    /// district's records in parallel, and a need for a household the registry has not published yet
    /// is refused (as it would be from a real district system).
    public let settle: TimeInterval
    private var random: SplitMix64
    private var residents: [(id: UUID, householdId: UUID, name: String, phone: String, registered: Date)] = []
    private var pending: [CloudEvent] = []
    private var clock: Date

    public init(district: String, places: Places, seed: UInt64, mix: Mix = Mix(), settle: TimeInterval = 5, start: Date = Date()) {
        self.district = district
        self.places = places
        self.mix = mix
        self.settle = settle
        self.random = SplitMix64(seed: seed)
        self.clock = start
    }

    /// The next event; a household registration is followed by its residents' registrations.
    public mutating func next(at time: Date? = nil) -> CloudEvent {
        if let time { clock = time }
        if pending.isEmpty { pending = step().reversed() }
        return pending.removeLast()
    }

    public mutating func events(_ count: Int) -> [CloudEvent] {
        (0..<count).map { _ in next() }
    }

    private mutating func step() -> [CloudEvent] {
        let total = max(1, mix.households + mix.disputes + mix.needs)
        let roll = random.below(total)
        // Disputes and needs need someone settled to be about; until then, register households.
        let settled = residents.prefix { clock.timeIntervalSince($0.registered) >= settle }.count
        if settled == 0 || roll < mix.households || places.grids.isEmpty { return household() }
        return roll < mix.households + mix.disputes ? [dispute(among: settled)] : [need(among: settled)]
    }

    private mutating func household() -> [CloudEvent] {
        guard let building = random.pick(places.buildings) else { return [] }
        let household = DistrictHousehold(
            id: random.uuid(), buildingCode: building, address: "\(random.between(1, 30))单元\(random.between(1, 33))0\(random.between(1, 4))室")
        var events = [event(DistrictInbound.householdRegistered, subject: household.id, record: household)]
        let surname = random.pick(Self.surnames)!
        for member in 0..<random.between(1, 4) {
            let name = surname + random.pick(Self.givenNames)!
            let born = member == 0 ? random.between(1940, 1990) : random.between(1950, 2020)
            let floating = random.below(100) < 15
            let phone = "1\(random.pick(["3", "5", "8"])!)\(String(format: "%09d", random.below(1_000_000_000)))"
            var groups: [String] = []
            if born < 1962 { groups.append("elderly") }
            if born > 2009 { groups.append("minor") }
            if floating { groups.append("migrant-worker") }
            let resident = DistrictResident(
                id: random.uuid(), householdId: household.id, name: name, nationalId: nationalID(born: born), phone: phone,
                residency: floating ? "floating" : "registered",
                floating: floating
                    ? FloatingRegistration(origin: random.pick(Self.origins)!, arrivedOn: day(daysAgo: random.between(30, 2000)), purpose: "work")
                    : nil,
                groups: groups.isEmpty ? nil : groups)
            residents.append((resident.id, household.id, name, phone, clock))
            events.append(event(DistrictInbound.residentRegistered, subject: resident.id, record: resident))
        }
        return events
    }

    private mutating func dispute(among settled: Int) -> CloudEvent {
        let first = residents[random.below(settled)]
        let second = residents[random.below(settled)]
        let category = random.pick(Self.categories)!
        let record = DistrictDispute(
            id: random.uuid(), grid: random.pick(places.grids)!, category: category.code, severity: random.below(100) < 85 ? "minor" : "major",
            description: category.description,
            parties: [
                .init(residentId: first.id, name: first.name, contact: first.phone),
                .init(residentId: second.id == first.id ? nil : second.id, name: second.id == first.id ? "邻居" : second.name),
            ])
        return event(DistrictInbound.disputeReported, subject: record.id, record: record)
    }

    private mutating func need(among settled: Int) -> CloudEvent {
        let who = residents[random.below(settled)]
        // A two-hour window, one to seven days ahead, at nine or two o'clock in the city's time (UTC+8).
        let dayStart = Calendar(identifier: .gregorian).startOfDay(for: clock).addingTimeInterval(Double(random.between(1, 7)) * 86_400)
        let start = dayStart.addingTimeInterval(random.below(2) == 0 ? 3600 : 6 * 3600)
        let kind = random.pick(Self.needKinds)!
        let record = DistrictServiceNeed(
            id: random.uuid(), householdId: who.householdId, residentId: who.id, grid: random.pick(places.grids)!, kind: kind,
            windows: [ServiceWindow(start: start, end: start.addingTimeInterval(7200))], volunteers: 1,
            urgency: random.below(100) < 10 ? "soon" : "routine", contact: ServiceContact(name: who.name, phone: who.phone))
        return event(DistrictInbound.serviceNeedReported, subject: record.id, record: record)
    }

    private mutating func event<Record: Encodable>(_ type: EventType, subject: UUID, record: Record) -> CloudEvent {
        // Encoding our own plain records cannot fail.
        let data = (try? EventCoding.encode(record)) ?? []
        return CloudEvent(
            id: random.uuid(), source: DistrictInbound.source(district: district), type: type, subject: subject.uuidString.lowercased(),
            time: clock, data: data)
    }

    /// A well-formed resident identity number (GB 11643-1999) that belongs to no one: region, birth day,
    /// sequence and the check character.
    private mutating func nationalID(born year: Int) -> String {
        let body = "\(random.pick(["110105", "310104", "440305", "510107", "330106"])!)\(year)"
            + String(format: "%02d%02d%03d", random.between(1, 12), random.between(1, 28), random.below(1000))
        return body + String(NationalID.checkCharacter(for: body.compactMap(\.wholeNumberValue)))
    }

    private func day(daysAgo: Int) -> String {
        let date = clock.addingTimeInterval(-Double(daysAgo) * 86_400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 2000, parts.month ?? 1, parts.day ?? 1)
    }

    static let surnames = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林"]
    static let givenNames = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞"]
    static let origins = ["河南省周口市", "四川省南充市", "湖南省邵阳市", "安徽省阜阳市", "江西省赣州市", "广西壮族自治区玉林市"]
    static let needKinds = ["elder-care", "meal-delivery", "after-school-care", "tutoring", "counselling", "day-care"]
    static let categories: [(code: String, description: String)] = [
        ("neighbours", "楼上住户夜间噪音影响休息，双方多次沟通未果。"),
        ("neighbours", "楼道堆放杂物引发邻里争执。"),
        ("property-management", "物业费收取标准与服务质量存在争议。"),
        ("family", "赡养老人费用分担问题，家庭成员意见不一。"),
        ("labour", "装修工人工资结算发生纠纷。"),
        ("environment", "餐馆油烟排放影响周边住户。"),
    ]
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the same seed, the same stream.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next(upperBound: UInt64(bound))) }
    mutating func between(_ low: Int, _ high: Int) -> Int { low + below(high - low + 1) }
    mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[below(items.count)] }

    /// A version-4 UUID drawn from the stream.
    mutating func uuid() -> UUID {
        UUID(bytes: withUnsafeBytes(of: (next().littleEndian, next().littleEndian), Array.init), version: 4)
    }
}
