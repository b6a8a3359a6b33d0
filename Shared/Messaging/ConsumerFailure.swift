import Kafka
import PostgresNIO
import Storage

/// Why a batch could not be applied, as far as a consumer must know to act: wait and try the same
/// batch again, or find the record that fails every time and set it aside.
public enum ConsumerFailure: Sendable, Equatable {
    /// The failure is in the surroundings (the database or the broker is away, a serialization failure,
    /// a deadlock, a statement cut off): the same batch applies once they are back.
    case transient
    /// The failure comes from the input (a value the database refuses, a broken constraint, a handler
    /// that cannot apply a record): trying the same records again fails again. `kind` is the dead-letter
    /// kind the record that causes it gets.
    case poison(kind: String)

    /// The metric label: `transient` or `poison`.
    public var label: String {
        switch self {
        case .transient: "transient"
        case .poison: "poison"
        }
    }

    /// SQLSTATE classes that say the server or the session is the problem, not the statement's data:
    /// connection exceptions, transaction rollbacks (serialization failure, deadlock), insufficient
    /// resources, operator intervention (shutdown, cancel), system errors, objects in use (lock not
    /// available), internal errors.
    static let transientClasses: Set<Substring> = ["08", "40", "53", "55", "57", "58", "XX"]

    public static func classify(_ error: any Error) -> ConsumerFailure {
        switch error {
        case is CancellationError, is BoundedWait.Abandoned, is KafkaError: return .transient
        // A rejection naming no event of the batch is a handler bug; retried, and visible as a stall.
        case is EventRejections: return .transient
        case let error as PSQLError:
            guard error.code == .server, let state = error.serverInfo?[.sqlState] else {
                return .transient  // the connection broke, the pool closed, ...
            }
            let stateClass = state.prefix(2)
            if transientClasses.contains(stateClass) { return .transient }
            switch stateClass {
            case "22": return .poison(kind: "invalid")  // data exception: a value the column cannot hold
            case "23": return .poison(kind: "constraint")  // integrity constraint violation
            default: return .poison(kind: "poison")
            }
        default:
            return .poison(kind: "poison")
        }
    }

    /// A sentence for logs and dead-letter reasons: the server's message and SQLSTATE where there is
    /// one, not PostgresNIO's generic description.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError, let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            let detail = error.serverInfo?[.detail].map { ": \($0)" } ?? ""
            return "the database refused it\(state): \(message)\(detail)"
        }
        return String(describing: error)
    }
}
