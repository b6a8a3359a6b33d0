/// How far a consumer is behind on one partition: records on the broker it has not read yet.
///
/// Pure so it can be tested on its own; the inputs come from librdkafka's cached watermarks and the
/// consumer's position. Against brokers that answer watermark queries wrongly (the local test broker
/// reports a high watermark of 1) the figure is wrong too, which is why tests assert on counts.
public enum ConsumerLag {
    /// `highWatermark` is the offset the next produced record will get; `position` the offset this
    /// consumer will read next (negative when it has not read yet, then `committed` or `lowWatermark`
    /// says where it will start).
    public static func records(highWatermark: Int64, lowWatermark: Int64, position: Int64, committed: Int64?) -> Int64? {
        guard highWatermark >= 0 else { return nil }
        let next: Int64
        if position >= 0 {
            next = position
        } else if let committed, committed >= 0 {
            next = committed
        } else {
            next = max(lowWatermark, 0)
        }
        return max(0, highWatermark - next)
    }
}
