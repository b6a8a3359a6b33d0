import VolunteerMatchingService
import Messaging

/// The VolunteerMatchingService read model's registry projection, named apart from the other services' (each file sees
/// one service's `RegistryProjection`).
enum VolunteerMatchingProjection {
    static func handler() -> any InboxHandler { RegistryProjection() }
    static let migrations = VolunteerMatchingService.migrations
}
