import Foundation

/// Appends lines to a file, creating it if needed.
final class LineWriter {
    let url: URL
    private var handle: FileHandle?

    init(url: URL, append: Bool) throws {
        self.url = url
        let fm = FileManager.default
        if !append || !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil) else {
                throw CheckpointError.io(file: url.path, reason: "cannot create log file")
            }
        }
        do {
            let h = try FileHandle(forWritingTo: url)
            try h.seekToEnd()
            handle = h
        } catch { throw CheckpointError.io(file: url.path, reason: "cannot open log file: \(error.localizedDescription)") }
    }

    /// True if the file has no bytes yet.
    var isEmpty: Bool { ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0) == 0 }

    func write(_ line: String) throws {
        do { try handle?.write(contentsOf: Data((line + "\n").utf8)) } catch {
            throw CheckpointError.io(file: url.path, reason: "cannot write log: \(error.localizedDescription)")
        }
    }

    func close() {
        try? handle?.close()
        handle = nil
    }
}

/// Writes one CSV row per epoch (Keras `CSVLogger`): a header from the first
/// epoch's keys ("epoch,loss,accuracy,val_loss,..."), then values. With
/// `append`, an existing file is continued (for resumed runs).
public final class CSVLogger: Callback {
    /// The CSV file.
    public let url: URL
    /// Continue an existing file instead of replacing it.
    public let append: Bool
    private var writer: LineWriter?
    private var columns: [String]?

    /// Creates the logger.
    public init(url: URL, append: Bool = false) { (self.url, self.append) = (url, append) }

    /// Opens the file.
    public func onTrainBegin(_ context: TrainingContext) throws {
        writer = try LineWriter(url: url, append: append)
        columns = nil
        // An appended file already has its header: reuse its columns.
        if append, let text = try? String(contentsOf: url, encoding: .utf8), let first = text.split(separator: "\n").first {
            columns = first.split(separator: ",").map(String.init)
        }
    }

    /// Writes the epoch's row; keys missing from the header are ignored.
    public func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {
        guard let writer else { return }
        if columns == nil {
            columns = ["epoch"] + logs.keys.filter { $0 != "epoch" }
            try writer.write(columns!.joined(separator: ","))
        }
        let row = columns!.map { key -> String in
            if key == "epoch" { return "\(epoch + 1)" }
            return logs[key].map { "\($0)" } ?? ""
        }
        try writer.write(row.joined(separator: ","))
    }

    /// Closes the file.
    public func onTrainEnd(_ logs: Logs, context: TrainingContext) throws {
        writer?.close()
        writer = nil
    }
}

/// Writes one JSON object per epoch, one per line:
/// `{"epoch": 1, "loss": 0.31, "accuracy": 0.91, ...}`. Non-finite values are
/// written as null.
public final class JSONLinesLogger: Callback {
    /// The output file.
    public let url: URL
    /// Continue an existing file instead of replacing it.
    public let append: Bool
    private var writer: LineWriter?

    /// Creates the logger.
    public init(url: URL, append: Bool = false) { (self.url, self.append) = (url, append) }

    /// Opens the file.
    public func onTrainBegin(_ context: TrainingContext) throws { writer = try LineWriter(url: url, append: append) }

    /// Writes the epoch's object.
    public func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {
        var parts = ["\"epoch\": \(epoch + 1)"]
        for (k, v) in logs where k != "epoch" {
            let key = k.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            parts.append("\"\(key)\": \(v.isFinite ? "\(v)" : "null")")
        }
        try writer?.write("{" + parts.joined(separator: ", ") + "}")
    }

    /// Closes the file.
    public func onTrainEnd(_ logs: Logs, context: TrainingContext) throws {
        writer?.close()
        writer = nil
    }
}
