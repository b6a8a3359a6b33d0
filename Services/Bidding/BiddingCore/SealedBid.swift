import Contracts
import Crypto
import Foundation

/// What a bidder offers. Sealed from submission until bidding closes.
public struct BidContents: Codable, Sendable, Hashable {
    public var priceFen: Int
    /// How the price breaks down; when given, the items add up to the price.
    public var priceBreakdown: [CostItem]?
    /// How the service will be delivered and how it meets the project's standards.
    public var proposal: String
    /// The people who will deliver it (names and qualifications).
    public var team: [String]?

    public init(priceFen: Int, priceBreakdown: [CostItem]? = nil, proposal: String, team: [String]? = nil) {
        self.priceFen = priceFen
        self.priceBreakdown = priceBreakdown
        self.proposal = proposal
        self.team = team
    }

    /// The rules a bid must meet at submission. The ceiling is public, so a bid over it is refused
    /// at once rather than disqualified later. They are also everything opening needs: a bid that
    /// meets them can be stored as opened (amounts within `Money.largestFen`, text without U+0000).
    public func issues(ceilingFen: Int) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if let problem = Money.problem(priceFen) {
            issues.append(FieldIssue("priceFen", problem))
        } else if priceFen > ceilingFen {
            issues.append(FieldIssue("priceFen", "is over the tender's ceiling of \(ceilingFen) fen"))
        }
        let trimmed = proposal.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.count > 50_000 { issues.append(FieldIssue("proposal", "must be 1 to 50,000 characters")) }
        if let unstorable = StorableField.issue("proposal", proposal) { issues.append(unstorable) }
        if let items = priceBreakdown {
            if items.count > Self.maximumBreakdownItems {
                issues.append(FieldIssue("priceBreakdown", "at most \(Self.maximumBreakdownItems) items"))
            }
            for (index, item) in items.enumerated() {
                let name = item.item.trimmingCharacters(in: .whitespaces)
                if name.isEmpty || name.count > 200 || !Money.isAmount(item.amountFen) {
                    issues.append(FieldIssue("priceBreakdown[\(index)]", "needs an item name (1 to 200 characters) and an amount over 0, at most \(Money.largestFen) fen"))
                }
                if let unstorable = StorableField.issue("priceBreakdown[\(index)].item", item.item) { issues.append(unstorable) }
            }
            if !items.isEmpty, items.allSatisfy({ Money.isAmount($0.amountFen) }) {
                if let sum = Money.sum(items.map(\.amountFen)) {
                    if sum != priceFen { issues.append(FieldIssue("priceBreakdown", "adds up to \(sum) fen, not the price \(priceFen) fen")) }
                } else {
                    issues.append(FieldIssue("priceBreakdown", "adds up to more than any price (at most \(Money.largestFen) fen)"))
                }
            }
        }
        if let team {
            if team.count > 200 || team.contains(where: { $0.count > 500 }) {
                issues.append(FieldIssue("team", "at most 200 people, 500 characters each"))
            }
            for (index, member) in team.enumerated() {
                if let unstorable = StorableField.issue("team[\(index)]", member) { issues.append(unstorable) }
            }
        }
        return issues
    }

    /// A breakdown a reader can follow (and a bound on what one bid stores).
    public static let maximumBreakdownItems = 1_000
}

/// A sealed bid: the ciphertext the database keeps and the hash published at submission.
public struct SealedBid: Sendable, Hashable {
    /// AES-GCM combined form: nonce, ciphertext, tag.
    public var ciphertext: Data
    /// Hex SHA-256 of the plaintext envelope (salt and contents).
    public var sha256: String
}

/// Why a sealed bid could not be opened.
public enum SealBroken: Error, Sendable, Equatable, CustomStringConvertible {
    /// The ciphertext does not decrypt under the tender's key for this bid: altered or moved.
    case undecryptable
    /// It decrypts, but not to what was announced at submission.
    case hashMismatch(expected: String, found: String)
    case unreadable

    public var description: String {
        switch self {
        case .undecryptable: "the sealed bid does not decrypt under the tender's key: it was altered or moved from another bid"
        case .hashMismatch(let expected, let found): "the opened bid hashes to \(found), not to the \(expected) announced at submission"
        case .unreadable: "the opened bid is not a bid"
        }
    }
}

/// Seals bids so that nobody — no API role, no log, not a database reader — can read one before the
/// deadline, and so that tampering shows.
///
/// Each tender has its own key, derived from the service's sealing secret (`BID_SEALING_KEY`, held
/// outside the database) and the tender id with HKDF-SHA256. The database keeps only ciphertext until
/// bidding closes; then the tender's key is released (stored with the tender and published), which
/// opens that tender's bids and no other's. The plaintext envelope carries a random salt, so the
/// published hash gives nothing away (a price cannot be guessed by hashing candidates), and the
/// authenticated data binds a ciphertext to its tender, bid, organisation and version.
public struct BidSeal: Sendable {
    let secret: SymmetricKey

    public init(secret: String) {
        self.secret = SymmetricKey(data: Data(secret.utf8))
    }

    /// The key of one tender. Released when its bidding closes.
    public func tenderKey(_ tender: UUID) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: secret, salt: Data(tender.uuidString.lowercased().utf8), info: Data("city-governance bid sealing v1".utf8),
            outputByteCount: 32)
    }

    /// What binds a ciphertext to its place.
    public static func binding(tender: UUID, bid: UUID, organisation: UUID, version: Int) -> Data {
        Data("tender=\(tender.uuidString.lowercased());bid=\(bid.uuidString.lowercased());organisation=\(organisation.uuidString.lowercased());version=\(version)".utf8)
    }

    struct Envelope: Codable {
        var salt: String
        var contents: BidContents
    }

    public func seal(_ contents: BidContents, tender: UUID, bid: UUID, organisation: UUID, version: Int) throws -> SealedBid {
        let salt = Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }).base64EncodedString()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let plaintext = try encoder.encode(Envelope(salt: salt, contents: contents))
        let box = try AES.GCM.seal(
            plaintext, using: tenderKey(tender), authenticating: Self.binding(tender: tender, bid: bid, organisation: organisation, version: version))
        return SealedBid(ciphertext: box.combined!, sha256: Self.hex(SHA256.hash(data: plaintext)))
    }

    /// Opens a bid with a tender's released key and checks it against the hash announced at submission.
    public static func open(
        _ ciphertext: Data, key: SymmetricKey, tender: UUID, bid: UUID, organisation: UUID, version: Int, announced: String
    ) throws(SealBroken) -> BidContents {
        let plaintext: Data
        do {
            plaintext = try AES.GCM.open(
                AES.GCM.SealedBox(combined: ciphertext), using: key,
                authenticating: binding(tender: tender, bid: bid, organisation: organisation, version: version))
        } catch {
            throw .undecryptable
        }
        let found = hex(SHA256.hash(data: plaintext))
        guard found == announced else { throw .hashMismatch(expected: announced, found: found) }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: plaintext) else { throw .unreadable }
        return envelope.contents
    }

    /// A tender key as released (base64), for anyone checking the opened bids.
    public static func releasedKey(_ base64: String) -> SymmetricKey? {
        Data(base64Encoded: base64).flatMap { $0.count == 32 ? SymmetricKey(data: $0) : nil }
    }

    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

extension SymmetricKey {
    /// The key as base64, as it is released and published.
    public var base64: String { withUnsafeBytes { Data($0).base64EncodedString() } }
}
