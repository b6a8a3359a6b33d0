import Foundation
import Logging

/// One JSON object per line on stdout: what log shippers and `jq` at 3 a.m. both read.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let output = LockedOutput()

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            "level": event.level.rawValue,
            "logger": label,
            "msg": event.message.description,
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged { object[key] = Self.plain(value) }
        if event.source != label && !event.source.isEmpty { object["source"] = event.source }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        Self.output.write(line)
    }

    private static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(plain)
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        }
    }
}

/// Serialises writes so lines from concurrent tasks never interleave.
private final class LockedOutput: @unchecked Sendable {
    private let lock = NSLock()

    func write(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(data)
    }
}

public enum LoggingSetup {
    private static let once = BootstrapOnce()

    /// Installs the process-wide log handler (first call wins; later calls are ignored, as in tests).
    public static func bootstrap(format: RuntimeConfiguration.LogFormat, level: Logger.Level) {
        once.run {
            LoggingSystem.bootstrap { label in
                switch format {
                case .json:
                    var handler = JSONLogHandler(label: label)
                    handler.logLevel = level
                    return handler
                case .text:
                    var handler = StreamLogHandler.standardOutput(label: label)
                    handler.logLevel = level
                    return handler
                }
            }
        }
    }
}

/// Runs a closure once per process.
final class BootstrapOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func run(_ body: () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        done = true
        body()
    }
}
