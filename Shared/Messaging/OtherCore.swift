import Dispatch

/// CPU-heavy work that should run beside the caller, not after it.
///
/// The services run their tasks on the NIO event loops (`ServiceHost.runTasksOnEventLoops`), and a
/// child task (`async let`) is queued on the loop its parent runs on: decoding the next batch "while"
/// the current one was written ran on the same thread, one after the other, and a district import
/// kept one core busy and the other mostly idle. Work passed here runs on a thread of the system's
/// pool, so the other core takes it while the caller's loop goes on with its I/O.
public enum OtherCore {
    public static func run<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    public static func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
