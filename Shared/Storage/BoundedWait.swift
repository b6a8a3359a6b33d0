import ServiceLifecycle
import Synchronization

/// Waits with a limit that does not depend on the awaited work honouring cancellation.
///
/// A PostgreSQL query in flight when the server drops the connection can hang and ignore
/// cancellation; structured concurrency would then wait for it forever. Readiness probes, outbox relay
/// rounds and consumer batches go through here instead.
public enum BoundedWait {
    public struct Abandoned: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "abandoned: \(reason)" }
    }

    /// Runs `operation` with a time limit, and a shorter one once graceful shutdown has begun; past the
    /// limit it is cancelled and the caller gets `Abandoned` without waiting for it.
    ///
    /// Not waiting is the point: a PostgreSQL query in flight when the server drops the connection can
    /// hang and ignore cancellation, and a relay or consumer stuck on it would never move again nor
    /// let the process stop. The abandoned work holds nothing the caller relies on (its transaction
    /// never commits) and ends with the process at the latest.
    public static func limit<T: Sendable>(
        to timeout: Duration, graceAfterShutdown grace: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let settled = Once<Void>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            func finish(_ result: Result<T, any Error>) {
                if settled.settle(()) { continuation.resume(with: result) }
            }
            let work = Task {
                finish(await Result { try await operation() })
            }
            // Task (not Task.detached) inherits the task-locals that say whether shutdown has begun.
            Task {
                let clock = ContinuousClock()
                var deadline = clock.now.advanced(by: timeout)
                var shutdownSeen = false
                while settled.value == nil {
                    if !shutdownSeen && Task.isShuttingDownGracefully {
                        shutdownSeen = true
                        deadline = min(deadline, clock.now.advanced(by: grace))
                    }
                    if clock.now >= deadline {
                        work.cancel()
                        finish(.failure(Abandoned(reason: shutdownSeen ? "still running \(grace) after shutdown began" : "took longer than \(timeout)")))
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }
}

/// A value set once, read from any thread.
final class Once<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)

    /// Returns whether this call set the value.
    @discardableResult
    func settle(_ value: Value) -> Bool {
        storage.withLock { stored in
            guard stored == nil else { return false }
            stored = value
            return true
        }
    }

    var value: Value? { storage.withLock { $0 } }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
