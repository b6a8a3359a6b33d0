import Logging
import ServiceLifecycle

/// Pauses that respect graceful shutdown.
public enum ShutdownGrace {
    /// Sleeps for `duration`, or less once graceful shutdown has begun (or the task is cancelled).
    /// `Task.sleep` alone only ends early on cancellation and would hold up the stop.
    public static func pause(_ duration: Duration) async {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: duration)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let left = end - clock.now
            guard left > .zero else { return }
            try? await Task.sleep(for: min(left, .milliseconds(50)))
        }
    }
}

/// The loop of a background worker (a watcher, a dispatcher, a refresher): one round, then a pause,
/// until graceful shutdown. A round that says more work is waiting runs again at once; a round that
/// fails is logged and tried again after the pause, so a database restart does not end the worker.
public enum PeriodicWork {
    public static func run(every interval: Duration, logger: Logger, failure: String, round: () async throws -> Bool) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if try await round() { continue }
            } catch {
                logger.error("\(failure); retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            await ShutdownGrace.pause(interval)
        }
    }
}
