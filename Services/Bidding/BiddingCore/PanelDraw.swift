import Crypto
import Foundation

/// An expert in the pool, as the registry publishes them.
public struct PoolExpert: Sendable, Hashable {
    public var id: UUID
    public var fields: Set<String>
    public var affiliations: Set<UUID>

    public init(id: UUID, fields: Set<String>, affiliations: Set<UUID>) {
        self.id = id
        self.fields = fields
        self.affiliations = affiliations
    }
}

/// An expert left out of a draw, and why.
public struct ExcludedExpert: Codable, Sendable, Hashable {
    public var expertId: UUID
    /// The bidder or purchaser they are affiliated with.
    public var affiliatedWith: [UUID]

    public init(expertId: UUID, affiliatedWith: [UUID]) {
        self.expertId = expertId
        self.affiliatedWith = affiliatedWith
    }
}

/// A drawn panel with everything needed to redo the draw.
public struct PanelResult: Sendable, Hashable {
    public var seedMaterial: String
    public var seed: String
    public var candidates: [UUID]
    public var excluded: [ExcludedExpert]
    public var panel: [UUID]
}

/// Why no panel could be drawn.
public struct PanelShortfall: Error, Sendable, Hashable, CustomStringConvertible {
    public var needed: Int
    public var available: Int
    public var fields: [String]

    public init(needed: Int, available: Int, fields: [String]) {
        self.needed = needed
        self.available = available
        self.fields = fields
    }

    public var description: String {
        "only \(available) unaffiliated expert\(available == 1 ? "" : "s") in \(fields.joined(separator: ", ")); the panel needs \(needed)"
    }
}

/// The random expert panel (003 先锋社区: experts drawn at random from the pool).
///
/// Reproducible and verifiable by anyone:
/// 1. seed material = `tender=<id>;deadline=<ISO 8601>;bids=<the opened bids' SHA-256, sorted, comma-separated>`
///    — all fixed and published before the draw, none chosen by the purchaser;
/// 2. seed = SHA-256 of the seed material;
/// 3. candidates = active experts with at least one of the tender's fields, not affiliated with any
///    bidder or the purchaser, sorted by id (lower-case text);
/// 4. a partial Fisher–Yates shuffle: for i = 0, 1, … pick j = i + r mod (n − i), where r is the first
///    8 bytes (big-endian) of SHA-256(seed bytes ‖ counter as 8 bytes big-endian), the counter
///    counting up from 0 and skipping values of r that would bias the choice; swap i and j;
/// 5. the panel = the first `size` candidates after the shuffle.
public enum PanelDraw {
    public static func seedMaterial(tender: UUID, deadline: Date, bidHashes: [String]) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return "tender=\(tender.uuidString.lowercased());deadline=\(formatter.string(from: deadline));bids=\(bidHashes.sorted().joined(separator: ","))"
    }

    public static func draw(
        seedMaterial: String, pool: [PoolExpert], fields: [String], excludingAffiliatesOf organisations: Set<UUID>, size: Int
    ) throws(PanelShortfall) -> PanelResult {
        let wanted = Set(fields)
        var candidates: [UUID] = []
        var excluded: [ExcludedExpert] = []
        for expert in pool.sorted(by: { $0.id.uuidString.lowercased() < $1.id.uuidString.lowercased() }) where !expert.fields.isDisjoint(with: wanted) {
            let ties = expert.affiliations.intersection(organisations)
            if ties.isEmpty {
                candidates.append(expert.id)
            } else {
                excluded.append(ExcludedExpert(expertId: expert.id, affiliatedWith: ties.sorted { $0.uuidString < $1.uuidString }))
            }
        }
        guard candidates.count >= size else { throw PanelShortfall(needed: size, available: candidates.count, fields: fields.sorted()) }
        let seed = Array(SHA256.hash(data: Data(seedMaterial.utf8)))
        var stream = SeededStream(seed: seed)
        var shuffled = candidates
        for i in 0..<size {
            let j = i + Int(stream.next(below: UInt64(shuffled.count - i)))
            shuffled.swapAt(i, j)
        }
        return PanelResult(
            seedMaterial: seedMaterial, seed: BidSeal.hex(seed), candidates: candidates, excluded: excluded, panel: Array(shuffled.prefix(size)))
    }
}

/// Numbers drawn from SHA-256 in counter mode: the same seed gives the same numbers everywhere.
struct SeededStream {
    let seed: [UInt8]
    var counter: UInt64 = 0

    init(seed: [UInt8]) { self.seed = seed }

    mutating func nextWord() -> UInt64 {
        var block = seed
        withUnsafeBytes(of: counter.bigEndian) { block.append(contentsOf: $0) }
        counter += 1
        return SHA256.hash(data: block).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Uniform in 0..<bound, without modulo bias.
    mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let word = nextWord()
            if word < limit { return word % bound }
        }
    }
}
