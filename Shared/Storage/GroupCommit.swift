import Logging
import Metrics
import PostgresNIO
import Synchronization

/// Writes that arrive together are committed together.
///
/// Under load most of a small write's cost is not its own rows but what surrounds them: a round trip
/// for BEGIN, for every statement and for COMMIT, and the commit's flush. Here the writes that arrive
/// while earlier ones are being written wait and then share one transaction, which the store's batch
/// statements (one `unnest` insert for all rows) write in as many round trips as a single write takes.
///
/// There is no background task: the first waiting request runs the shared transaction for everyone
/// and, when it is done, hands the next batch to the first request still waiting. At most `lanes`
/// transactions are in flight; a write that finds a lane free runs at once, alone, so at low load
/// nothing waits for a batch to fill. One lane is the default: measured at 1,000 writes/s on two
/// cores, one lane gave lower latency than two or four (bigger batches, fewer round trips, and no two
/// batches of one service waiting on each other's row locks).
///
/// A job's own refusal (an unknown building, a taken id) is its own result and does not touch the
/// others. When the shared transaction fails as a whole because the server refused something, each
/// job is written again alone, so one bad job never fails its neighbours. A lost connection fails
/// every job of the batch: whether its COMMIT landed is unknown, and writing again could do it twice.
public final class GroupCommit<Job: Sendable, Outcome: Sendable>: Sendable {
    /// What makes a batch all-or-nothing.
    public enum Atomicity: Sendable {
        /// `BEGIN` and `COMMIT` around the write.
        case transaction
        /// The write changes rows in one statement only (reads may come before it), which commits
        /// on its own: two round trips fewer, and the same view of the data as in a transaction
        /// (each statement of a read-committed transaction sees what was committed when it began).
        case oneStatement
    }

    /// Writes `jobs` on `connection`; one result per job, in order.
    public typealias Write = @Sendable (_ jobs: [Job], _ connection: PostgresConnection) async throws -> [Result<Outcome, any Error>]

    private struct Waiter: Sendable {
        var job: Job
        var continuation: CheckedContinuation<Wake, Never>
    }

    private enum Wake: Sendable {
        case done(Result<Outcome, any Error>)
        /// The woken request runs this batch; it is the batch's first job.
        case lead([Waiter])
    }

    private struct State: Sendable {
        var queue: [Waiter] = []
        var running = 0
    }

    private let database: Database
    private let write: Write
    private let lanes: Int
    private let maxBatch: Int
    private let atomicity: Atomicity
    private let logger: Logger
    private let state = Mutex(State())
    private let waiting: Gauge
    private let batchSize: Recorder
    private let rewrittenAlone: Counter

    /// - Parameters:
    ///   - name: what is written (`household`, `dispute-case`), the metrics' `write` dimension.
    ///   - lanes: transactions in flight at once; each holds a pool connection while it runs.
    ///   - maxBatch: jobs in one transaction at most.
    ///   - atomicity: whether the write needs `BEGIN` and `COMMIT` around it.
    public init(
        name: String, database: Database, lanes: Int = 1, maxBatch: Int = 64, atomicity: Atomicity = .transaction, logger: Logger,
        write: @escaping Write
    ) {
        precondition(lanes > 0 && maxBatch > 0)
        self.database = database
        self.write = write
        self.lanes = lanes
        self.maxBatch = maxBatch
        self.atomicity = atomicity
        self.logger = logger
        waiting = Gauge(label: "group_commit_waiting", dimensions: [("write", name)])
        batchSize = Recorder(label: "group_commit_batch_size", dimensions: [("write", name)])
        rewrittenAlone = Counter(label: "group_commit_rewritten_alone_total", dimensions: [("write", name)])
    }

    /// Writes `job`, possibly in one transaction with others; returns once its transaction committed.
    public func submit(_ job: Job) async throws -> Outcome {
        let wake = await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
            let (next, queued) = state.withLock { state in
                state.queue.append(Waiter(job: job, continuation: continuation))
                return (Self.takeBatch(&state, lanes: lanes, maxBatch: maxBatch), state.queue.count)
            }
            waiting.record(queued)
            Self.wake(next)
        }
        switch wake {
        case .done(let result):
            return try result.get()
        case .lead(let batch):
            batchSize.record(batch.count)
            let results = await run(batch.map(\.job))
            for (waiter, result) in zip(batch, results).dropFirst() {
                waiter.continuation.resume(returning: .done(result))
            }
            let (next, queued) = state.withLock { state in
                state.running -= 1
                return (Self.takeBatch(&state, lanes: lanes, maxBatch: maxBatch), state.queue.count)
            }
            waiting.record(queued)
            Self.wake(next)
            return try results[0].get()
        }
    }

    /// Wakes a batch's first request to run it.
    private static func wake(_ batch: [Waiter]?) {
        guard let batch else { return }
        batch[0].continuation.resume(returning: .lead(batch))
    }

    /// The next batch when a lane is free and someone waits; the lane is taken.
    private static func takeBatch(_ state: inout State, lanes: Int, maxBatch: Int) -> [Waiter]? {
        guard !state.queue.isEmpty, state.running < lanes else { return nil }
        let count = min(maxBatch, state.queue.count)
        let batch = Array(state.queue.prefix(count))
        state.queue.removeFirst(count)
        state.running += 1
        return batch
    }

    private func run(_ jobs: [Job]) async -> [Result<Outcome, any Error>] {
        do {
            let results = try await atomically(jobs)
            precondition(results.count == jobs.count, "a group write returns one result per job")
            return results
        } catch {
            guard jobs.count > 1, Self.refusedByServer(error) else { return jobs.map { _ in .failure(error) } }
            logger.notice(
                "a shared transaction was refused; writing its jobs one by one",
                metadata: ["jobs": "\(jobs.count)", "error": "\(String(reflecting: error))"])
            rewrittenAlone.increment(by: jobs.count)
            var results: [Result<Outcome, any Error>] = []
            for job in jobs {
                do {
                    results += try await atomically([job])
                } catch {
                    results.append(.failure(error))
                }
            }
            return results
        }
    }

    private func atomically(_ jobs: [Job]) async throws -> [Result<Outcome, any Error>] {
        switch atomicity {
        case .transaction: try await database.transaction { connection in try await write(jobs, connection) }
        case .oneStatement: try await database.withConnection { connection in try await write(jobs, connection) }
        }
    }

    /// Whether the transaction certainly rolled back: the server refused a statement or the commit,
    /// or the write threw before anything was sent.
    private static func refusedByServer(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return true }
        return error.code == .server
    }
}
