/// Every Kafka topic the suite uses, in one place.
///
/// One topic per producing domain, one ingress topic for district systems, and a dead-letter topic
/// beside each consumed topic (`<topic>.dead-letter`).
public enum Topic: String, CaseIterable, Sendable {
    case registryEvents = "registry.events"
    case mediationEvents = "mediation.events"
    case volunteerEvents = "volunteer.events"
    case biddingEvents = "bidding.events"
    case districtInbound = "district.inbound"

    public var name: String { rawValue }

    /// Where messages from this topic that cannot be applied are sent, with the reason in headers.
    public var deadLetter: String { Self.deadLetter(of: rawValue) }

    public static func deadLetter(of topic: String) -> String { topic + ".dead-letter" }

    /// Partitions the suite expects; keys spread aggregates across them.
    public var partitions: Int32 {
        switch self {
        case .districtInbound, .registryEvents: 12
        case .mediationEvents, .volunteerEvents, .biddingEvents: 6
        }
    }
}
