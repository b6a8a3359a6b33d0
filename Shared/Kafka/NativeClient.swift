import CRdKafka
import Dispatch
import Logging
import Synchronization

/// State shared with librdkafka's C callbacks through the client opaque.
///
/// librdkafka calls back on its own threads, so everything here is either immutable or locked.
final class ClientContext: Sendable {
    let logger: Logger
    let deliveries = Mutex(PendingDeliveries())
    let rebalance = Mutex(RebalanceLog())

    init(logger: Logger) {
        self.logger = logger
    }
}

/// Waiters for delivery reports, keyed by the integer id put in each message's opaque.
struct PendingDeliveries: ~Copyable {
    var nextID: UInt = 1
    var waiting: [UInt: CheckedContinuation<Result<DeliveryReport, KafkaError>, Never>] = [:]
    /// Reports that arrived before anyone awaited them.
    var finished: [UInt: Result<DeliveryReport, KafkaError>] = [:]
    var open = true
}

/// What the rebalance callback did, for logs and tests.
struct RebalanceLog: ~Copyable {
    var assigned: Set<TopicPartition> = []
    var generation = 0
}

/// Creates an `rd_kafka_t` with logs routed to swift-log and our context as the opaque.
/// The returned context is retained once; `releaseContext` balances it after `rd_kafka_destroy`.
func makeNativeClient(
    type: rd_kafka_type_t,
    config: KafkaConfig,
    context: ClientContext,
    configure: (OpaquePointer) -> Void
) throws(KafkaError) -> OpaquePointer {
    let conf = try config.makeNativeConfiguration(logger: context.logger)
    rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
        let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
        let text = message.map { String(cString: $0) } ?? ""
        let facilityText = facility.map { String(cString: $0) } ?? ""
        context.logger.log(
            level: logLevel(syslog: level), "\(text)",
            metadata: ["kafka.facility": "\(facilityText)"], source: "librdkafka")
    }
    rd_kafka_conf_set_error_cb(conf) { rk, code, reason, _ in
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
        let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
        let text = reason.map { String(cString: $0) } ?? KafkaError.reason(rd_kafka_resp_err_t(code))
        // Transient broker trouble is retried by librdkafka; only say it loudly when it is fatal.
        let fatal = rd_kafka_resp_err_t(code) == RD_KAFKA_RESP_ERR__FATAL
        context.logger.log(
            level: fatal ? .critical : .warning, "kafka client error",
            metadata: ["kafka.error": "\(text)", "kafka.code": "\(code)"])
    }
    let opaque = Unmanaged.passRetained(context).toOpaque()
    rd_kafka_conf_set_opaque(conf, opaque)
    configure(conf)

    var errorBuffer = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
        // On failure librdkafka leaves the configuration with us.
        rd_kafka_conf_destroy(conf)
        Unmanaged<ClientContext>.fromOpaque(opaque).release()
        throw .clientCreation(reason: text(errorBuffer))
    }
    return handle
}

func releaseContext(of handle: OpaquePointer) {
    if let opaque = rd_kafka_opaque(handle) {
        Unmanaged<ClientContext>.fromOpaque(opaque).release()
    }
}

func logLevel(syslog level: Int32) -> Logger.Level {
    switch level {
    case ...2: .critical
    case 3: .error
    case 4: .warning
    case 5: .notice
    case 6: .info
    default: .debug
    }
}

/// Runs blocking librdkafka calls on a thread of their own so Swift's cooperative pool never waits on
/// the network.
final class BlockingLane: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}

/// Asks the cluster for metadata: a cheap "can we reach the brokers" check.
func fetchMetadata(handle: OpaquePointer, timeoutMs: Int32) -> rd_kafka_resp_err_t {
    var metadata: UnsafePointer<rd_kafka_metadata>?
    let code = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMs)
    if let metadata { rd_kafka_metadata_destroy(metadata) }
    return code
}

/// `rd_kafka_topic_partition_list_t` → Swift values.
func topicPartitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartition] {
    guard let list, list.pointee.cnt > 0 else { return [] }
    return (0..<Int(list.pointee.cnt)).map { index in
        let element = list.pointee.elems[index]
        return TopicPartition(topic: String(cString: element.topic), partition: element.partition)
    }
}

/// A strictly non-blocking handle wrapper so the pointer can cross concurrency domains.
struct NativeHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

extension Duration {
    /// Whole milliseconds, clamped to what librdkafka's `int` timeouts take.
    var milliseconds: Int32 {
        let value = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        return Int32(clamping: value)
    }
}

/// A NUL-terminated C buffer as text.
func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A boolean shared between a Swift object and a thread or closure that outlives a borrow.
final class Flag: Sendable {
    private let storage: Atomic<Bool>

    init(_ value: Bool) { storage = Atomic(value) }

    var value: Bool { storage.load(ordering: .acquiring) }
    func set(_ value: Bool) { storage.store(value, ordering: .releasing) }
    /// Sets the flag and returns what it was.
    func exchange(_ value: Bool) -> Bool { storage.exchange(value, ordering: .acquiringAndReleasing) }
}
