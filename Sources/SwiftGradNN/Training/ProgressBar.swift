import Foundation

/// Where progress text goes.
public enum ProgressOutput: @unchecked Sendable {
    /// Standard output.
    case standardOutput
    /// Standard error.
    case standardError
    /// A closure receiving each chunk (tests, GUIs); treated as not a TTY.
    case custom((String) -> Void)
    /// Nothing is printed.
    case silent

    /// True when the output is an interactive terminal.
    var isTerminal: Bool {
        switch self {
        case .standardOutput: return isatty(STDOUT_FILENO) != 0
        case .standardError: return isatty(STDERR_FILENO) != 0
        case .custom, .silent: return false
        }
    }

    func write(_ text: String) {
        switch self {
        case .standardOutput: FileHandle.standardOutput.write(Data(text.utf8))
        case .standardError: FileHandle.standardError.write(Data(text.utf8))
        case .custom(let f): f(text)
        case .silent: break
        }
    }
}

/// A Keras-style epoch progress bar:
///
///     Epoch 3/10  235/235 [==============================] 12s 51ms/step - loss: 0.0412 - accuracy: 0.9871 - 4,900 samples/s
///
/// On a terminal the line is redrawn in place (`\r`) at most every 0.1 s;
/// otherwise a plain line is printed at each 10% of the epoch and at the end.
public struct ProgressBar {
    /// "Epoch 3/10" or any prefix.
    public let title: String
    /// Batches in the epoch, if known.
    public let total: Int?
    /// Where the text goes.
    public let output: ProgressOutput
    /// Redraw in place (defaults to whether `output` is a terminal).
    public let interactive: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastDecile = 0
    private var lastWidth = 0

    /// Creates a bar for one epoch.
    public init(title: String, total: Int?, output: ProgressOutput = .standardOutput, interactive: Bool? = nil) {
        (self.title, self.total, self.output) = (title, total, output)
        self.interactive = interactive ?? output.isTerminal
    }

    /// Reports that `done` batches (and `samples` samples) are finished.
    public mutating func update(done: Int, samples: Int, logs: Logs) {
        let now = Date()
        if interactive {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
            lastDraw = now
            let line = render(done: done, samples: samples, logs: logs, finished: false)
            output.write("\r" + line + String(repeating: " ", count: max(0, lastWidth - line.count)))
            lastWidth = line.count
        } else if let total, total > 0 {
            let decile = done * 10 / total
            guard decile > lastDecile, done < total else { return }
            lastDecile = decile
            output.write(render(done: done, samples: samples, logs: logs, finished: false) + "\n")
        }
    }

    /// Prints the final line of the epoch (with validation logs if any).
    public mutating func finish(done: Int, samples: Int, logs: Logs) {
        let line = render(done: done, samples: samples, logs: logs, finished: true)
        let pad = interactive ? String(repeating: " ", count: max(0, lastWidth - line.count)) : ""
        output.write((interactive ? "\r" : "") + line + pad + "\n")
    }

    /// The text of one progress line.
    public func render(done: Int, samples: Int, logs: Logs, finished: Bool) -> String {
        let elapsed = Date().timeIntervalSince(start)
        var head = title + "  "
        if let total, total > 0 {
            let width = 30, filled = min(width, done * width / total)
            let bar =
                String(repeating: "=", count: filled)
                + (filled < width ? ">" + String(repeating: ".", count: width - filled - 1) : "")
            let pad = String(repeating: " ", count: max(0, String(total).count - String(done).count))
            head += "\(pad)\(done)/\(total) [\(bar)]"
        } else {
            head += "\(done)"
        }
        let perStep = done > 0 ? elapsed / Double(done) : 0
        var time: String
        if let total, !finished {
            time = "ETA " + Self.duration(perStep * Double(max(0, total - done)))
        } else {
            time = Self.duration(elapsed)
        }
        time += perStep >= 1 ? String(format: " %.1fs/step", perStep) : String(format: " %.0fms/step", perStep * 1000)
        var rest = logs.map { "\($0.key): \(formatLogValue($0.value))" }
        if elapsed > 0 && samples > 0 { rest.append("\(Self.grouped(Int(Double(samples) / elapsed))) samples/s") }
        return head + " " + time + (rest.isEmpty ? "" : " - " + rest.joined(separator: " - "))
    }

    /// "12s", "3m 05s", "1h 02m".
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm %02ds", s / 60, s % 60) }
        return String(format: "%dh %02dm", s / 3600, s % 3600 / 60)
    }

    /// 4900 -> "4,900".
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(abs(n)))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }
}
