import BiddingService
import Messaging

/// The BiddingService read model's registry projection, named apart from the other services' (each file sees
/// one service's `RegistryProjection`).
enum BiddingProjection {
    static func handler() -> any InboxHandler { RegistryProjection() }
    static let migrations = BiddingService.migrations
}
