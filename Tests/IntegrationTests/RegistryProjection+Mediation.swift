import MediationService
import Messaging

/// The MediationService read model's registry projection, named apart from the other services' (each file sees
/// one service's `RegistryProjection`).
enum MediationProjection {
    static func handler() -> any InboxHandler { RegistryProjection() }
    static let migrations = MediationService.migrations
}
