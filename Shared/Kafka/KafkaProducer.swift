import CRdKafka
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent producer (`enable.idempotence=true`, `acks=all`) whose sends complete when the broker
/// has acknowledged the record.
///
/// Delivery reports are served by a thread of the producer's own that polls librdkafka; callers await
/// a continuation resumed from that thread, so no Swift task ever blocks in librdkafka. As a `Service`
/// it flushes what is queued on graceful shutdown.
public final class KafkaProducer: Service, Sendable {
    private let handle: NativeHandle
    private let context: ClientContext
    private let lane = BlockingLane(label: "kafka.producer.lane")
    private let polling = Flag(true)
    private let pollerExited = DispatchSemaphore(value: 0)
    private let state = Mutex(Lifecycle.open)
    private let flushTimeout: Duration
    private let bootstrapServers: String

    private enum Lifecycle { case open, closing, closed }

    /// Settings the outbox's guarantees rest on; the environment cannot turn them off. The partitioner
    /// is the one Java's client (and kafka-python, and most others) use by default, murmur2 of the key:
    /// a district that publishes with another client lands on the same partition as with ours, so its
    /// records stay in one order whatever tools it mixes (librdkafka's own default, CRC32, does not).
    public static let requiredSettings = [
        "enable.idempotence": "true",
        "acks": "all",
        "partitioner": "murmur2_random",
    ]

    public static let defaultSettings = [
        "linger.ms": "5",
        "message.timeout.ms": "30000",
        "socket.keepalive.enable": "true",
    ]

    public init(config: KafkaConfig, logger: Logger, flushTimeout: Duration = .seconds(10)) throws(KafkaError) {
        let config = config.only(for: .producer).with(defaults: Self.defaultSettings).forcing(Self.requiredSettings)
        let context = ClientContext(logger: logger)
        let pointer = try makeNativeClient(type: RD_KAFKA_PRODUCER, config: config, context: context) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { rk, message, _ in
                guard let rk, let message, let opaque = rd_kafka_opaque(rk) else { return }
                let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
                let id = UInt(bitPattern: message.pointee._private)
                let topic = String(cString: rd_kafka_topic_name(message.pointee.rkt))
                let result: Result<DeliveryReport, KafkaError> =
                    message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? .success(DeliveryReport(topic: topic, partition: message.pointee.partition, offset: message.pointee.offset))
                    : .failure(.delivery(topic: topic, code: message.pointee.err.rawValue, reason: KafkaError.reason(message.pointee.err)))
                context.completeDelivery(id: id, result: result)
            }
        }
        self.handle = NativeHandle(pointer: pointer)
        self.context = context
        self.flushTimeout = flushTimeout
        self.bootstrapServers = config.bootstrapServers
        startPoller()
        logger.info(
            "kafka producer created",
            metadata: ["kafka.library": "\(KafkaConfig.libraryVersion)", "kafka.bootstrap": "\(config.bootstrapServers)"])
    }

    deinit {
        // Normally `shutdown()` has run; this only guards against a producer dropped without it.
        if polling.exchange(false) {
            pollerExited.wait()
        }
        let wasClosed = state.withLock { $0 == .closed }
        if !wasClosed {
            rd_kafka_destroy(handle.pointer)
            releaseContext(of: handle.pointer)
        }
    }

    private func startPoller() {
        let handle = handle
        let polling = polling
        let exited = pollerExited
        let thread = Thread {
            while polling.value {
                rd_kafka_poll(handle.pointer, 50)
            }
            exited.signal()
        }
        thread.name = "kafka-producer-poll"
        thread.start()
    }

    /// Sends one record and waits until the broker acknowledged it.
    public func send(_ message: OutgoingMessage) async throws(KafkaError) -> DeliveryReport {
        let ticket = try await enqueue(message)
        return try await delivery(of: ticket).get()
    }

    /// Sends records together (they share network round trips) and waits for all reports, in order.
    public func send(batch messages: [OutgoingMessage]) async -> [Result<DeliveryReport, KafkaError>] {
        var tickets: [Result<DeliveryTicket, KafkaError>] = []
        tickets.reserveCapacity(messages.count)
        for message in messages {
            do {
                tickets.append(.success(try await enqueue(message)))
            } catch {
                tickets.append(.failure(error))
            }
        }
        var results: [Result<DeliveryReport, KafkaError>] = []
        results.reserveCapacity(messages.count)
        for ticket in tickets {
            switch ticket {
            case .success(let ticket): results.append(await delivery(of: ticket))
            case .failure(let error): results.append(.failure(error))
            }
        }
        return results
    }

    /// Identifies a queued record whose delivery report can be awaited.
    public struct DeliveryTicket: Sendable, Hashable {
        let id: UInt
    }

    /// Queues a record without waiting for the broker. Waits (without blocking a thread) while
    /// librdkafka's local queue is full.
    public func enqueue(_ message: OutgoingMessage) async throws(KafkaError) -> DeliveryTicket {
        while true {
            let id: UInt = try context.deliveries.withLock { (pending) throws(KafkaError) -> UInt in
                guard pending.open else { throw KafkaError.closed }
                defer { pending.nextID &+= 1 }
                return pending.nextID
            }
            let code = produce(message, id: id)
            if code == RD_KAFKA_RESP_ERR_NO_ERROR { return DeliveryTicket(id: id) }
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                // The poller drains the queue as reports arrive; give it a moment.
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            throw .enqueue(topic: message.topic, code: code.rawValue, reason: KafkaError.reason(code))
        }
    }

    /// Waits for the broker's answer about a queued record.
    public func delivery(of ticket: DeliveryTicket) async -> Result<DeliveryReport, KafkaError> {
        await withCheckedContinuation { continuation in
            let immediate: Result<DeliveryReport, KafkaError>? = context.deliveries.withLock { pending in
                if let done = pending.finished.removeValue(forKey: ticket.id) { return done }
                if !pending.open { return .failure(.closed) }
                pending.waiting[ticket.id] = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    private func produce(_ message: OutgoingMessage, id: UInt) -> rd_kafka_resp_err_t {
        let headers: OpaquePointer? = message.headers.isEmpty ? nil : rd_kafka_headers_new(message.headers.count)
        for header in message.headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            withOptionalBytes(message.key) { key in
                withOptionalBytes(message.value) { value in
                    var fields: [rd_kafka_vu_t] = []
                    fields.reserveCapacity(7)
                    fields.append(field(RD_KAFKA_VTYPE_TOPIC) { $0.cstr = topic })
                    if let partition = message.partition {
                        fields.append(field(RD_KAFKA_VTYPE_PARTITION) { $0.i32 = partition })
                    }
                    if let key {
                        fields.append(field(RD_KAFKA_VTYPE_KEY) { $0.mem = .init(ptr: UnsafeMutableRawPointer(mutating: key.baseAddress), size: key.count) })
                    }
                    if let value {
                        fields.append(field(RD_KAFKA_VTYPE_VALUE) { $0.mem = .init(ptr: UnsafeMutableRawPointer(mutating: value.baseAddress), size: value.count) })
                    }
                    if let headers {
                        fields.append(field(RD_KAFKA_VTYPE_HEADERS) { $0.headers = headers })
                    }
                    fields.append(field(RD_KAFKA_VTYPE_OPAQUE) { $0.ptr = UnsafeMutableRawPointer(bitPattern: id) })
                    fields.append(field(RD_KAFKA_VTYPE_MSGFLAGS) { $0.i = RD_KAFKA_MSG_F_COPY })
                    return rd_kafka_produceva(handle.pointer, fields, fields.count)
                }
            }
        }
        guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
        // Headers pass to the message only when it was queued.
        if let headers { rd_kafka_headers_destroy(headers) }
        let code = rd_kafka_error_code(error)
        rd_kafka_error_destroy(error)
        return code
    }

    /// Whether the brokers answer a metadata request in time.
    public func checkConnection(timeout: Duration = .seconds(2)) async throws(KafkaError) {
        let handle = handle
        let milliseconds = timeout.milliseconds
        let code = await lane.run { fetchMetadata(handle: handle.pointer, timeoutMs: milliseconds) }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .unreachable(bootstrapServers: bootstrapServers, reason: KafkaError.reason(code))
        }
    }

    /// Records queued locally and not yet acknowledged.
    public var queueLength: Int { Int(rd_kafka_outq_len(handle.pointer)) }

    public func run() async throws {
        // Cancellation also ends the wait; either way queued records get their flush.
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Flushes queued records (up to the flush timeout), then fails anything still waiting and closes.
    public func shutdown() async {
        let proceed = state.withLock { lifecycle -> Bool in
            guard lifecycle == .open else { return false }
            lifecycle = .closing
            return true
        }
        guard proceed else { return }
        let handle = handle
        let milliseconds = flushTimeout.milliseconds
        let polling = polling
        let exited = pollerExited
        let unflushed = await lane.run { () -> Int32 in
            // flush() serves delivery reports itself, so stop our poller first: one thread polls at a time.
            polling.set(false)
            exited.wait()
            rd_kafka_flush(handle.pointer, milliseconds)
            rd_kafka_poll(handle.pointer, 0)
            return rd_kafka_outq_len(handle.pointer)
        }
        if unflushed > 0 {
            context.logger.error("kafka producer closed with undelivered records", metadata: ["kafka.unflushed": "\(unflushed)"])
        }
        let abandoned = context.deliveries.withLock { pending in
            pending.open = false
            let waiting = pending.waiting
            pending.waiting.removeAll()
            return waiting
        }
        for continuation in abandoned.values { continuation.resume(returning: .failure(.closed)) }
        await lane.run {
            rd_kafka_destroy(handle.pointer)
            releaseContext(of: handle.pointer)
        }
        state.withLock { $0 = .closed }
        context.logger.info("kafka producer closed")
    }
}

extension ClientContext {
    func completeDelivery(id: UInt, result: Result<DeliveryReport, KafkaError>) {
        let waiter = deliveries.withLock { pending in
            if let waiter = pending.waiting.removeValue(forKey: id) { return Optional(waiter) }
            pending.finished[id] = result
            return nil
        }
        waiter?.resume(returning: result)
    }
}

private func field(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t.__Unnamed_union_u) -> Void) -> rd_kafka_vu_t {
    var value = rd_kafka_vu_t()
    value.vtype = type
    set(&value.u)
    return value
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
