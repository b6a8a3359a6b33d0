import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Messaging
import ServiceRuntime
import Testing

@Suite struct StorableTextRules {
    @Test(arguments: [
        (#"{"a":"plain"}"#, nil as String?),
        (#"{"a":"中文名字 ✓ 👩‍👩‍👧"}"#, nil),
        (#"{"a":"x\u0000y"}"#, "U+0000"),
        (#"{"a":"\u0000"}"#, "U+0000"),
        (#"{"a\u0000":1}"#, "U+0000"),
        (#"{"a":"back\\u0000slash"}"#, nil),  // an escaped backslash, then the letters u0000
        (#"{"a":"\\\u0000"}"#, "U+0000"),  // an escaped backslash, then the escape
        (#"{"a":"\u00001"}"#, "U+0000"),
        (#"{"a":"\u0001\u0100\u1000"}"#, nil),
    ])
    func jsonTextIsStorableUnlessItHoldsU0000(json: String, problem: String?) {
        let found = StorableText.problem(inJSON: Array(json.utf8))
        #expect(found?.description.contains(problem ?? "-") ?? (problem == nil), "\(json) → \(String(describing: found))")
    }

    @Test func rawNulAndBrokenUTF8AreFoundWhereTheyAre() {
        #expect(StorableText.problem(inJSON: Array(#"{"a":"x"#.utf8) + [0] + Array(#""}"#.utf8)) == .nulCharacter(at: 7))
        #expect(StorableText.problem(inJSON: Array(#"{"a":"x\u0000"}"#.utf8)) == .nulCharacter(at: 7))
        #expect(StorableText.problem(inText: [0x61, 0xC3, 0x28]) == .invalidUTF8(near: 1))
        #expect(StorableText.problem(inText: [0xFF]) == .invalidUTF8(near: 0))
        #expect(StorableText.problem(inText: Array("résumé".utf8)) == nil)
        #expect(StorableText.problem(in: "a\u{0}b") == .nulCharacter(at: 1))
        #expect(StorableText.problem(in: "ok") == nil)
    }
}

@Suite struct DeadLetterBounds {
    func consumed(value: [UInt8], headers: [KafkaHeader] = []) -> ConsumedMessage {
        ConsumedMessage(topic: "district.inbound", partition: 3, offset: 41, key: Array("D01".utf8), value: value, headers: headers)
    }

    @Test func aRecordTooLargeForTheBrokerBecomesABoundedCopyThatStillSaysWhichRecordItWas() {
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 1_000_000)
        let headers = (0..<100).map { KafkaHeader(key: "h\($0)", string: String(repeating: "y", count: 10_000)) }
        let reason = DeadLetterReason(kind: "unknown_type", detail: String(repeating: "why ", count: 5000))
        let letter = DeadLetterPublisher.record(for: consumed(value: value, headers: headers), reason: reason, group: "g", at: Date())
        let size = (letter.value?.count ?? 0) + (letter.key?.count ?? 0) + letter.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        #expect(size < 900_000, "under the producer's 1,000,000-byte limit with room for framing: \(size)")
        #expect(letter.headers.string(DeadLetterHeader.truncated) == "true")
        #expect(letter.headers.string(DeadLetterHeader.originalSize) == "1000000")
        #expect(letter.headers.string(DeadLetterHeader.originalDigest)?.count == 64)
        #expect(letter.headers.string(DeadLetterHeader.partition) == "3" && letter.headers.string(DeadLetterHeader.offset) == "41")
        let kept = letter.headers.string(DeadLetterHeader.reason) ?? ""
        #expect(kept.utf8.count <= 4096 && kept.hasPrefix("why why") && kept.hasSuffix("(20000 bytes, cut)"))
    }

    @Test func aSmallRecordIsKeptWholeForReplay() {
        let value = Array(#"{"id":"x"}"#.utf8)
        let letter = DeadLetterPublisher.record(
            for: consumed(value: value, headers: [KafkaHeader(key: "ce_id", string: "1")]), reason: .init(kind: "invalid", detail: "bad"), group: "g",
            at: Date())
        #expect(letter.value == value)
        #expect(letter.headers.string(DeadLetterHeader.truncated) == nil)
        #expect(letter.headers.string("ce_id") == "1")
        #expect(letter.headers.string(DeadLetterHeader.reason) == "bad")
    }

    @Test func reasonsAreCutOnACharacterBoundary() {
        let cut = DeadLetterPublisher.bounded(String(repeating: "调解", count: 100), bytes: 50)
        #expect(cut.utf8.count <= 50 && cut.hasPrefix("调解") && cut.hasSuffix("cut)"))
    }
}

@Suite struct ConsumerFailureKinds {
    @Test func theSurroundingsAreTransientAndTheInputIsPoison() {
        #expect(ConsumerFailure.classify(CancellationError()) == .transient)
        #expect(ConsumerFailure.classify(KafkaError.closed) == .transient)
        #expect(ConsumerFailure.classify(EventRejections(rejections: [])) == .transient)
        struct HandlerCannotApply: Error {}
        #expect(ConsumerFailure.classify(HandlerCannotApply()) == .poison(kind: "poison"))
        #expect(ConsumerFailure.classify(DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x"))) == .poison(kind: "poison"))
    }
}

@Suite struct UnstorableHTTPInput {
    @Test func everyDoorRefusesU0000AndBrokenUTF8BeforeAHandlerRuns() async throws {
        let authority = await TokenAuthority(secret: String(repeating: "k", count: 40))
        let router = buildRouter(service: "test", openAPI: "{}", readiness: [], authority: authority) { api in
            api.post("echo") { request, context -> String in
                struct Body: Decodable { var text: String }
                return try await request.decode(as: Body.self, context: context).text
            }
            api.get("find") { request, _ -> String in request.uri.queryParameters["district"].map(String.init) ?? "-" }
        }
        let token = try await authority.issue(AccessClaims(subject: "s", role: .cityAdmin, scope: .city, expires: Date().addingTimeInterval(600)))
        let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        try await Application(router: router).test(.router) { client in
            func post(_ body: [UInt8]) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: "/api/v1/echo", method: .post, headers: headers, body: ByteBuffer(bytes: body)) {
                    ($0.status, String(buffer: $0.body))
                }
            }
            func get(_ uri: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: uri, method: .get, headers: headers) { ($0.status, String(buffer: $0.body)) }
            }
            #expect(try await post(Array(#"{"text":"社区 ok"}"#.utf8)) == (.ok, "社区 ok"))
            let escaped = try await post(Array(#"{"text":"a\u0000b"}"#.utf8))
            #expect(escaped.0 == .badRequest && escaped.1.contains("U+0000"), "\(escaped)")
            #expect(try await post(Array(#"{"text":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)).0 == .badRequest)
            #expect(try await post(Array(#"{"text":""#.utf8) + [0] + Array(#""}"#.utf8)).0 == .badRequest)
            #expect(try await get("/api/v1/find?district=D01") == (.ok, "D01"))
            let query = try await get("/api/v1/find?district=%00")
            #expect(query.0 == .badRequest && query.1.contains("query string"), "\(query)")
            #expect(try await get("/api/v1/find?district=%FF").0 == .badRequest)
            #expect(try await get("/api/v1/find%00?district=D01").0 == .badRequest)
        }
    }
}
