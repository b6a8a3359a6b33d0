import ArgumentParser
import CityControl
import Contracts
import Foundation

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a seeded, realistic stream of a district's registrations, disputes and needs.",
        discussion: """
            The district's grids and buildings come from the registry (REGISTRY_URL, with a token), so the records refer to
            places the city knows. The same seed gives the same stream. With --print the events are written to standard
            output as JSON Lines (for `cityctl publish`) instead of being published.
            """)

    @Option(name: .long, help: "The district to imitate (e.g. D01).")
    var district: String

    @Option(name: .long, help: "Events per second.")
    var rate = 20.0

    @Option(name: .long, help: "How many events to publish.")
    var count: Int?

    @Option(name: .long, help: "Or for how many seconds.")
    var duration: Int?

    @Option(name: .long, help: "The stream's seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Shares of households, disputes and needs, e.g. 60,20,20.")
    var mix = "60,20,20"

    @Flag(name: .long, help: "Write the events as JSON Lines to standard output instead of publishing them.")
    var print = false

    @OptionGroup var connection: Connection

    func validate() throws {
        guard rate > 0, rate <= 100_000 else { throw ValidationError("--rate must be above 0 and at most 100000") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let duration, duration < 1 { throw ValidationError("--duration must be at least 1 second") }
        guard parsedMix != nil else { throw ValidationError("--mix must be three whole numbers, e.g. 60,20,20") }
    }

    var parsedMix: DistrictSimulator.Mix? {
        let parts = mix.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ $0 >= 0 }), parts.reduce(0, +) > 0 else { return nil }
        return DistrictSimulator.Mix(households: parts[0], disputes: parts[1], needs: parts[2])
    }

    func run() async throws {
        try await guarded {
            let endpoints = try connection.endpoints()
            let places: DistrictSimulator.Places
            do {
                places = try await connection.api().places(of: district, registry: endpoints.registry)
            } catch let error as CityAPIError {
                throw Stop(code: 69, message: "the district's places could not be read from the registry: \(error)")
            }
            guard !places.buildings.isEmpty, !places.grids.isEmpty else {
                throw Stop(code: 65, message: "the registry knows no grids or buildings in district \(district); register them first")
            }
            var simulator = DistrictSimulator(district: district, places: places, seed: seed, mix: parsedMix!)
            let total = count ?? (duration.map { Int(Double($0) * rate) } ?? 100)

            if print {
                for _ in 0..<total { say(Self.jsonLine(simulator.next())) }
                return
            }
            note("simulating district \(district): \(places.grids.count) grids, \(places.buildings.count) buildings, seed \(seed), \(rate)/s")
            let bar = ProgressBar(total: total, label: "simulating")
            // Sent in ticks of a tenth of a second, each tick's share at once, so the rate holds without a
            // round trip per event.
            let tick = Duration.milliseconds(100)
            var sent = 0
            var kinds: [String: Int] = [:]
            try await connection.withProducer { producer in
                let publisher = DistrictPublisher(producer: producer)
                var next = ContinuousClock.now
                var owed = 0.0
                while sent < total {
                    owed += rate / 10
                    let batch = min(total - sent, Int(owed))
                    owed -= Double(batch)
                    if batch > 0 {
                        let now = Date()
                        let events = (0..<batch).map { _ in simulator.next(at: now) }
                        for event in events { kinds[event.type.rawValue, default: 0] += 1 }
                        do {
                            try await publisher.publish(events.enumerated().map { DistrictFile.Line(line: sent + $0.offset + 1, event: $0.element) }, district: district)
                        } catch {
                            throw Stop(code: 69, message: "\(error)")
                        }
                        sent += batch
                        bar.update(sent)
                    }
                    next += tick
                    try await Task.sleep(until: next, clock: .continuous)
                }
            }
            bar.finish()
            say("published \(sent) events for district \(district): " + kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        }
    }

    static func jsonLine(_ event: CloudEvent) -> String {
        let data = (try? JSONValue.parse(Data(event.data))) ?? .null
        let line = JSONValue.object([
            "type": .string(event.type.rawValue), "id": .string(event.id.uuidString.lowercased()),
            "time": .string(CloudEventKafkaBinding.formatTime(event.time)), "data": data,
        ])
        return String(decoding: line.canonicalData(), as: UTF8.self)
    }
}
