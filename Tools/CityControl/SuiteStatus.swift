import Foundation

/// One sample of a Prometheus text exposition.
public struct MetricSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    /// Parses the text format (version 0.0.4); comments and malformed lines are skipped.
    public static func parse(_ text: String) -> [MetricSample] {
        text.split(separator: "\n").compactMap { raw -> MetricSample? in
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
            var name = ""
            var labels: [String: String] = [:]
            var rest: Substring
            if let brace = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
                name = String(line[..<brace])
                labels = parseLabels(line[line.index(after: brace)..<close])
                rest = line[line.index(after: close)...]
            } else {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { return nil }
                name = String(parts[0])
                rest = parts[1]
            }
            guard let valueText = rest.split(separator: " ").first, let value = Double(valueText) else { return nil }
            return MetricSample(name: name, labels: labels, value: value)
        }
    }

    private static func parseLabels(_ text: Substring) -> [String: String] {
        var labels: [String: String] = [:]
        var index = text.startIndex
        while index < text.endIndex {
            guard let equals = text[index...].firstIndex(of: "=") else { break }
            let key = text[index..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
            var cursor = text.index(after: equals)
            guard cursor < text.endIndex, text[cursor] == "\"" else { break }
            cursor = text.index(after: cursor)
            var value = ""
            while cursor < text.endIndex, text[cursor] != "\"" {
                if text[cursor] == "\\", text.index(after: cursor) < text.endIndex {
                    cursor = text.index(after: cursor)
                    value.append(text[cursor] == "n" ? "\n" : text[cursor])
                } else {
                    value.append(text[cursor])
                }
                cursor = text.index(after: cursor)
            }
            labels[key] = value
            index = cursor < text.endIndex ? text.index(after: cursor) : cursor
        }
        return labels
    }
}

/// What `cityctl status` shows of one service: readiness, consumer lag, outbox backlog, dead letters
/// and its domain gauges, read from `/health/ready` and `/metrics`.
public struct ServiceStatus: Sendable {
    public var name: String
    public var readiness: String
    public var checks: [String: String]
    public var lag: [String: Double]
    public var outboxBacklog: Double?
    public var outboxOldestSeconds: Double?
    public var deadLetters: Double
    public var domain: [(String, Double)]
    /// Consumer partitions the service reports stalled (readiness `stalled`).
    public var stalled: [JSONValue] = []

    /// Domain gauges worth a glance at 3 a.m., per service.
    static let domainGauges: [(metric: String, label: String)] = [
        ("mediation_open_cases", "open cases"), ("mediation_overdue_cases", "overdue cases"),
        ("volunteer_matching_open_needs", "open needs"), ("volunteer_matching_pending_offers", "pending offers"),
        ("bidding_overdue_tenders", "overdue tenders"), ("bidding_tenders", "tenders"),
    ]

    public init(name: String, readiness: String, checks: [String: String], metrics: [MetricSample]) {
        self.name = name
        self.readiness = readiness
        self.checks = checks
        func total(_ metric: String) -> Double? {
            let found = metrics.filter { $0.name == metric }
            return found.isEmpty ? nil : found.reduce(0) { $0 + $1.value }
        }
        var lag: [String: Double] = [:]
        for sample in metrics where sample.name == "consumer_lag_records" {
            lag[sample.labels["topic"] ?? "?", default: 0] += max(0, sample.value)
        }
        self.lag = lag
        outboxBacklog = total("outbox_backlog_rows")
        outboxOldestSeconds = metrics.filter { $0.name == "outbox_oldest_unsent_age_seconds" }.map(\.value).max()
        deadLetters = total("dead_letters_total") ?? 0
        domain = Self.domainGauges.compactMap { gauge in total(gauge.metric).map { (gauge.label, $0) } }
    }

    public static func fetch(name: String, url: URL, api: CityAPI) async -> ServiceStatus {
        var readiness = "unreachable"
        var checks: [String: String] = [:]
        var stalled: [JSONValue] = []
        if let (status, body) = try? await api.get(url.appendingPathComponent("health/ready"), authorised: false) {
            let report = try? JSONValue.parse(body)
            readiness = report?["status"]?.stringValue ?? "HTTP \(status)"
            if case .object(let members)? = report?["checks"] { checks = members.compactMapValues(\.stringValue) }
            if case .array(let partitions)? = report?["stalled"] { stalled = partitions }
        }
        var metrics: [MetricSample] = []
        if let (status, body) = try? await api.get(url.appendingPathComponent("metrics"), authorised: false), status == 200 {
            metrics = MetricSample.parse(String(decoding: body, as: UTF8.self))
        }
        var found = ServiceStatus(name: name, readiness: readiness, checks: checks, metrics: metrics)
        found.stalled = stalled
        return found
    }

    /// Ready, and no consumer partition stalled.
    public var healthy: Bool { readiness == "ready" && stalled.isEmpty }

    public static func table(_ services: [ServiceStatus]) -> String {
        var rows = [["SERVICE", "READY", "POSTGRES", "KAFKA", "LAG", "OUTBOX", "OLDEST", "DEAD LETTERS", "DOMAIN"]]
        for service in services {
            rows.append([
                service.name, service.readiness, service.checks["postgres"] ?? "-", service.checks["kafka"] ?? "-",
                ProgressBar.group(Int(service.lag.values.reduce(0, +))), service.outboxBacklog.map { ProgressBar.group(Int($0)) } ?? "-",
                service.outboxOldestSeconds.map { "\(Int($0))s" } ?? "-", ProgressBar.group(Int(service.deadLetters)),
                service.domain.map { "\($0.0) \(ProgressBar.group(Int($0.1)))" }.joined(separator: ", "),
            ])
        }
        var text = TextTable.render(rows)
        let lagRows = services.flatMap { service in
            service.lag.sorted { $0.key < $1.key }.map { [service.name, $0.key, ProgressBar.group(Int($0.value))] }
        }
        if !lagRows.isEmpty {
            text += "\n" + TextTable.render([["CONSUMER", "TOPIC", "LAG (RECORDS)"]] + lagRows)
        }
        var stalledRows: [[String]] = []
        for service in services {
            for partition in service.stalled { stalledRows.append(Self.stalledRow(service.name, partition)) }
        }
        if !stalledRows.isEmpty {
            text += "\nSTALLED PARTITIONS (park a record: cityctl dead-letters park --service NAME --topic T --partition P --offset O --reason WHY)\n"
            text += TextTable.render([["SERVICE", "GROUP", "TOPIC/PARTITION/OFFSET", "STALLED", "WAITING", "FAILURE", "LAST ERROR"]] + stalledRows)
        }
        return text
    }
}

extension ServiceStatus {
    public static func stalledRow(_ service: String, _ partition: JSONValue) -> [String] {
        let place = [partition["topic"]?.stringValue ?? "?", integer(partition["partition"]), integer(partition["offset"])].joined(separator: "/")
        let error = partition["lastError"]?.stringValue ?? "-"
        return [
            service, partition["group"]?.stringValue ?? "?", place, integer(partition["stalledSeconds"]) + "s",
            integer(partition["waitingRecords"]), partition["kind"]?.stringValue ?? "-", String(error.prefix(100)),
        ]
    }

    public static func integer(_ value: JSONValue?) -> String {
        switch value {
        case .integer(let number)?: "\(number)"
        case .number(let number)?: "\(Int(number))"
        default: "?"
        }
    }
}

/// Columns padded to their widest cell (by characters; CJK text may look wider in a terminal).
public enum TextTable {
    public static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], displayWidth(cell)) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - displayWidth(cell) + 2)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// Wide (CJK) characters take two terminal columns.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 && $1.properties.isIdeographic || (0xFF00...0xFF60).contains($1.value) ? 2 : 1) }
    }
}
