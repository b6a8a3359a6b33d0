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
