/// Whether text can be stored as PostgreSQL `text` or `jsonb`. PostgreSQL refuses the character U+0000
/// in both, and every text it takes must be valid UTF-8; a value that breaks either is refused at every
/// door (HTTP bodies and query strings, Kafka records) before anything is written, so it never reaches
/// a statement that would fail again on every retry.
public enum StorableText {
    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        /// U+0000, written raw or as the JSON escape `\u0000`, at this byte offset.
        case nulCharacter(at: Int)
        /// Bytes that are not UTF-8, starting at or after this byte offset.
        case invalidUTF8(near: Int)

        public var description: String {
            switch self {
            case .nulCharacter(let offset):
                "text holds the character U+0000 (byte \(offset)), which the database cannot store"
            case .invalidUTF8(let offset): "text is not valid UTF-8 (near byte \(offset))"
            }
        }
    }

    /// The first problem in a JSON document's bytes, or `nil` when every string in it can be stored.
    /// Escapes are followed, so `\\u0000` (an escaped backslash, then `u0000`) is fine.
    public static func problem<Bytes: Collection<UInt8>>(inJSON bytes: Bytes) -> Problem? {
        if let problem = problem(inText: bytes) { return problem }
        let zero = UInt8(ascii: "0")
        var escaped = false
        var zeros = -1  // after `\u`: how many of its four digits were zero so far; -1 outside an escape
        var offset = 0
        for byte in bytes {
            if zeros >= 0 {
                if byte == zero {
                    zeros += 1
                    if zeros == 4 { return .nulCharacter(at: offset - 5) }
                } else {
                    zeros = -1
                }
            } else if escaped {
                escaped = false
                if byte == UInt8(ascii: "u") { zeros = 0 }
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            }
            offset += 1
        }
        return nil
    }

    /// The first problem in plain text (a header, a query value): a raw U+0000 or bytes that are not UTF-8.
    public static func problem(inText bytes: some Collection<UInt8>) -> Problem? {
        var offset = 0
        for byte in bytes {
            if byte == 0 { return .nulCharacter(at: offset) }
            offset += 1
        }
        // ASCII needs no decoding; anything else must decode without a replacement.
        guard bytes.contains(where: { $0 >= 0x80 }) else { return nil }
        if String(validating: bytes, as: UTF8.self) == nil {
            let firstHigh = bytes.firstIndex { $0 >= 0x80 }.map { bytes.distance(from: bytes.startIndex, to: $0) } ?? 0
            return .invalidUTF8(near: firstHigh)
        }
        return nil
    }

    /// The first problem in a decoded string (a query parameter after percent-decoding).
    public static func problem(in text: some StringProtocol) -> Problem? {
        text.utf8.contains(0) ? problem(inText: Array(text.utf8)) : nil
    }
}

extension CloudEvent {
    /// Text of the event that PostgreSQL could not store: in its body, source or subject. Consumers
    /// refuse such an event as `invalid` before anything runs; `cityctl publish` before it is sent.
    public var unstorableText: StorableText.Problem? {
        StorableText.problem(inJSON: data) ?? StorableText.problem(in: source) ?? subject.flatMap { StorableText.problem(in: $0) }
    }
}
