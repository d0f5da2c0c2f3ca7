import Foundation
import SwiftGradNN

/// `--metrics-out`: one JSON object per epoch, one per line, keys in a fixed
/// order (dataset, epoch, loss, lr, val_loss, mean_iou, pixel_accuracy,
/// per_class_iou by class name, epoch_seconds, step_ms, eval_seconds,
/// peak_rss_bytes).
final class MetricsLog {
    let path: String
    private let handle: FileHandle

    /// Opens `path`, truncating it unless `append` (resumed runs continue the file).
    init(path: String, append: Bool) throws {
        self.path = path
        let fm = FileManager.default
        if !append || !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: nil) else {
                throw SegmentError("cannot create --metrics-out '\(path)' (does its folder exist?)")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
        } catch { throw SegmentError("cannot open --metrics-out '\(path)': \(error.localizedDescription)") }
    }

    func write(_ line: String) throws {
        do {
            try handle.write(contentsOf: Data((line + "\n").utf8))
            try handle.synchronize()
        } catch { throw SegmentError("cannot write --metrics-out '\(path)': \(error.localizedDescription)") }
    }

    func close() { try? handle.close() }

    /// The JSON line of one epoch.
    static func line(dataset: String, epoch: Int, train: EpochStats, report: HeldOutReport, classNames: [String]) -> String {
        func number(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "null" }
            return String(format: "%.6g", v)
        }
        let perClass = zip(classNames, report.matrix.perClassIoU).map { "\(quoted($0)): \(number($1))" }
        let fields = [
            "\"dataset\": \(quoted(dataset))", "\"epoch\": \(epoch)", "\"loss\": \(number(train.loss))",
            "\"lr\": \(number(Double(train.learningRate)))", "\"val_loss\": \(number(report.loss))",
            "\"mean_iou\": \(number(report.matrix.meanIoU))", "\"pixel_accuracy\": \(number(report.matrix.accuracy))",
            "\"per_class_iou\": {\(perClass.joined(separator: ", "))}",
            "\"epoch_seconds\": \(number(train.seconds))", "\"step_ms\": \(number(train.stepMilliseconds))",
            "\"eval_seconds\": \(number(report.seconds))",
            "\"peak_rss_bytes\": \(PeakMemory.residentBytes().map(String.init) ?? "null")"
        ]
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// A JSON string literal.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
