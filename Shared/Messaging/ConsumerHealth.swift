import Foundation
import Kafka
import Metrics
import Synchronization

/// A partition that has records waiting and has not moved for longer than the service allows: what
/// readiness, `cityctl status` and the runbook show an operator.
public struct StalledPartition: Codable, Sendable, Equatable {
    public var group: String
    public var topic: String
    public var partition: Int32
    /// The first record not yet applied.
    public var offset: Int64
    /// Seconds since the partition last moved (or since its records began to wait).
    public var stalledSeconds: Int
    /// Records polled from the partition and not yet applied.
    public var waitingRecords: Int
    /// `transient` or `poison` for the last failed try, absent when nothing failed (a slow batch).
    public var kind: String?
    public var lastError: String?
}

/// What every consumer of a service knows about its partitions, kept for readiness and metrics.
///
/// A partition "waits" while the consumer holds records of it that are not applied yet (polled, being
/// applied, retried). It "moves" when a batch with its records commits. Waiting without moving for
/// `stallAfter` is a stall. Broker watermarks are reported as lag but do not decide a stall: a broker
/// that answers them wrongly (the local one does) would make every idle partition look stuck.
public final class ConsumerHealth: Sendable {
    struct Key: Hashable {
        var group: String
        var topic: String
        var partition: Int32
    }

    struct State {
        var held: [Int64] = []
        var brokerLag: Int64 = 0
        /// When the partition last moved, or began to wait.
        var since = ContinuousClock.now
        var firstFailure: ContinuousClock.Instant?
        var failure: ConsumerFailure?
        var lastError: String?
        var lastApplied: Date?
    }

    public let stallAfter: Duration
    private let states = Mutex<[Key: State]>([:])

    public init(stallAfter: Duration = .seconds(60)) {
        self.stallAfter = stallAfter
    }

    /// Records were polled: they wait until `applied` or `released`.
    func hold(_ messages: [ConsumedMessage], group: String) {
        update(messages, group: group) { state, offsets in
            if state.held.isEmpty { state.since = .now }
            state.held += offsets
        }
    }

    /// A try of a batch failed; its partitions keep waiting.
    func failed(_ messages: [ConsumedMessage], group: String, failure: ConsumerFailure, error: String) {
        update(messages, group: group) { state, _ in
            state.firstFailure = state.firstFailure ?? .now
            state.failure = failure
            state.lastError = String(error.prefix(500))
        }
        for key in Self.keys(of: messages, group: group) {
            Counter(
                label: "consumer_batch_failures_total",
                dimensions: [("group", key.group), ("topic", key.topic), ("partition", String(key.partition)), ("kind", failure.label)]
            ).increment()
        }
    }

    /// The batch committed: its partitions moved.
    func applied(_ messages: [ConsumedMessage], group: String) {
        let now = Date()
        update(messages, group: group) { state, offsets in
            state.held.removeAll { offsets.contains($0) }
            state.since = .now
            state.firstFailure = nil
            state.failure = nil
            state.lastError = nil
            state.lastApplied = now
        }
    }

    /// Part of a failing batch applied on its own (probing for the record that holds it up): those
    /// records no longer wait, and the partition moved if any of them still did.
    func progressed(_ messages: [ConsumedMessage], group: String) {
        update(messages, group: group) { state, offsets in
            let before = state.held.count
            state.held.removeAll { offsets.contains($0) }
            if state.held.count < before { state.since = .now }
        }
    }

    /// The consumer let go of records without applying them (shutdown): another member reads them.
    func released(_ messages: [ConsumedMessage], group: String) {
        update(messages, group: group) { state, offsets in
            state.held.removeAll { offsets.contains($0) }
            if state.held.isEmpty { state.firstFailure = nil }
        }
    }

    /// The broker's figure for each assigned partition; partitions no longer assigned report 0.
    func brokerLag(_ lag: [TopicPartition: Int64], group: String) {
        states.withLock { states in
            for key in states.keys where key.group == group {
                states[key]?.brokerLag = lag[TopicPartition(topic: key.topic, partition: key.partition)] ?? 0
            }
            for (partition, behind) in lag {
                states[Key(group: group, topic: partition.topic, partition: partition.partition), default: State()].brokerLag = behind
            }
        }
    }

    /// The partitions stalled now.
    public func stalled() -> [StalledPartition] {
        let now = ContinuousClock.now
        return states.withLock { states in
            states.compactMap { key, state -> StalledPartition? in
                guard let first = state.held.min(), now - state.since >= stallAfter else { return nil }
                return StalledPartition(
                    group: key.group, topic: key.topic, partition: key.partition, offset: first,
                    stalledSeconds: Int((now - state.since).components.seconds), waitingRecords: state.held.count,
                    kind: state.failure?.label, lastError: state.lastError)
            }.sorted { ($0.group, $0.topic, $0.partition) < ($1.group, $1.topic, $1.partition) }
        }
    }

    /// Sets the per-partition gauges of `group`: lag (broker lag plus records held), seconds since the
    /// oldest unapplied record first failed, and when the partition last applied a record.
    func recordGauges(group: String) {
        let now = ContinuousClock.now
        let snapshot = states.withLock { states in states.filter { $0.key.group == group } }
        for (key, state) in snapshot {
            let labels = [("group", key.group), ("topic", key.topic), ("partition", String(key.partition))]
            Gauge(label: "consumer_lag_records", dimensions: labels).record(state.brokerLag + Int64(state.held.count))
            let failing = state.firstFailure.map { now - $0 } ?? .zero
            Gauge(label: "consumer_stalled_seconds", dimensions: labels).record(Double(failing.components.seconds))
            if let applied = state.lastApplied {
                Gauge(label: "consumer_last_applied_timestamp_seconds", dimensions: labels).record(applied.timeIntervalSince1970)
            }
        }
    }

    private func update(_ messages: [ConsumedMessage], group: String, _ change: (inout State, Set<Int64>) -> Void) {
        let offsets = Dictionary(grouping: messages) { Key(group: group, topic: $0.topic, partition: $0.partition) }
            .mapValues { Set($0.map(\.offset)) }
        states.withLock { states in
            for (key, offsets) in offsets { change(&states[key, default: State()], offsets) }
        }
    }

    private static func keys(of messages: [ConsumedMessage], group: String) -> Set<Key> {
        Set(messages.map { Key(group: group, topic: $0.topic, partition: $0.partition) })
    }
}
