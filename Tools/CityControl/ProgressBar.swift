import Foundation

/// A one-line progress bar on standard error for long imports: count, share, rate and time left.
/// Where standard error is not a terminal (a log, CI) it prints a plain line every tenth instead.
public final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let label: String
    private let interactive: Bool
    private let started = ContinuousClock.now
    private var lastDrawn = ContinuousClock.now - .seconds(1)
    private var lastTenth = -1
    private let lock = NSLock()

    public init(total: Int, label: String, interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.total = max(total, 0)
        self.label = label
        self.interactive = interactive
    }

    public func update(_ done: Int) {
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        if interactive {
            guard done >= total || now - lastDrawn >= .milliseconds(100) else { return }
            lastDrawn = now
            FileHandle.standardError.write(Data(("\r" + Self.line(label: label, done: done, total: total, elapsed: now - started)).utf8))
        } else {
            let tenth = total == 0 ? 10 : done * 10 / total
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            FileHandle.standardError.write(Data((Self.line(label: label, done: done, total: total, elapsed: now - started) + "\n").utf8))
        }
    }

    public func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// `publishing [##########----------] 1,200/2,400  50%  812/s  ~2s left`
    static func line(label: String, done: Int, total: Int, elapsed: Duration, width: Int = 30) -> String {
        let share = total == 0 ? 1.0 : min(1.0, Double(done) / Double(total))
        let filled = Int((share * Double(width)).rounded(.down))
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        var text = "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: width - filled))] "
        text += "\(group(done))/\(group(total)) \(String(format: "%3d", Int(share * 100)))%  \(group(Int(rate)))/s"
        if rate > 0 && done < total { text += "  ~\(Int((Double(total - done) / rate).rounded(.up)))s left" }
        return text + "   "
    }

    /// 12345 → 12,345
    static func group(_ number: Int) -> String {
        let digits = String(number.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return number < 0 ? "-" + out : out
    }
}
