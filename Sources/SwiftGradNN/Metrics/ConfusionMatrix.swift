import Foundation

/// Counts of (true class, predicted class) pairs, with per-class IoU,
/// precision and recall. Rows are true classes, columns predictions.
/// Targets outside `0..<classCount` (e.g. an "ignore" label 255) are skipped.
public struct ConfusionMatrix: Sendable, Equatable, CustomStringConvertible {
    /// Number of classes C.
    public let classCount: Int
    /// Row-major [C * C] counts: `counts[t * C + p]`.
    public private(set) var counts: [Int]
    /// Optional class names for printing.
    public var classNames: [String]?

    /// An all-zero matrix for `classCount` classes.
    public init(classCount: Int, classNames: [String]? = nil) {
        precondition(classCount >= 1, "ConfusionMatrix: classCount must be >= 1")
        precondition(
            classNames.map { $0.count == classCount } ?? true, "ConfusionMatrix: \(classNames!.count) names for \(classCount) classes")
        self.classCount = classCount
        self.counts = [Int](repeating: 0, count: classCount * classCount)
        self.classNames = classNames
    }

    /// The count of samples of class `actual` predicted as `predicted`.
    public subscript(actual: Int, predicted: Int) -> Int { counts[actual * classCount + predicted] }

    /// Adds predicted/true index pairs; pairs with an out-of-range target are skipped.
    public mutating func add(predicted: [Int], actual: [Int]) {
        precondition(predicted.count == actual.count, "ConfusionMatrix: \(predicted.count) predictions for \(actual.count) targets")
        let c = classCount
        for (p, t) in zip(predicted, actual) where t >= 0 && t < c && p >= 0 && p < c {
            counts[t * c + p] += 1
        }
    }

    /// Adds a batch of logits and targets (layouts as `Accuracy`).
    public mutating func update(predictions: Tensor, targets: Tensor) {
        let (p, t) = classPairs(predictions, targets, op: "ConfusionMatrix")
        add(predicted: p, actual: t)
    }

    /// Adds another matrix's counts (same class count).
    public mutating func merge(_ other: ConfusionMatrix) {
        precondition(other.classCount == classCount, "ConfusionMatrix.merge: \(other.classCount) vs \(classCount) classes")
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// Sets every count to zero.
    public mutating func reset() { counts = [Int](repeating: 0, count: counts.count) }

    /// Total pairs counted.
    public var total: Int { counts.reduce(0, +) }
    /// Correct predictions over all counted pairs (0 when empty).
    public var accuracy: Double {
        let correct = (0..<classCount).reduce(0) { $0 + self[$1, $1] }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }

    private func rowSum(_ t: Int) -> Int { (0..<classCount).reduce(0) { $0 + self[t, $1] } }
    private func columnSum(_ p: Int) -> Int { (0..<classCount).reduce(0) { $0 + self[$1, p] } }

    /// Per-class intersection over union TP / (TP + FP + FN); nil for a class
    /// that neither occurs nor is predicted.
    public var perClassIoU: [Double?] {
        (0..<classCount).map { k in
            let tp = self[k, k], union = rowSum(k) + columnSum(k) - tp
            return union == 0 ? nil : Double(tp) / Double(union)
        }
    }

    /// The mean of the defined per-class IoUs (0 when none is defined).
    public var meanIoU: Double {
        let defined = perClassIoU.compactMap { $0 }
        return defined.isEmpty ? 0 : defined.reduce(0, +) / Double(defined.count)
    }

    /// Per-class precision TP / predicted; nil when never predicted.
    public var precision: [Double?] {
        (0..<classCount).map { k in
            let d = columnSum(k)
            return d == 0 ? nil : Double(self[k, k]) / Double(d)
        }
    }

    /// Per-class recall TP / actual; nil when the class never occurs.
    public var recall: [Double?] {
        (0..<classCount).map { k in
            let d = rowSum(k)
            return d == 0 ? nil : Double(self[k, k]) / Double(d)
        }
    }

    /// A table: counts with true classes as rows, then IoU per class and the mean.
    public var description: String {
        let names = classNames ?? (0..<classCount).map(String.init)
        let width = max(6, (names.map(\.count) + counts.map { String($0).count }).max() ?? 0)
        func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        var lines = ["true\\pred " + names.map(pad).joined(separator: " ") + " " + pad("IoU")]
        let iou = perClassIoU
        for t in 0..<classCount {
            let cells = (0..<classCount).map { pad(String(self[t, $0])) }.joined(separator: " ")
            let i = iou[t].map { String(format: "%.4f", $0) } ?? "-"
            lines.append(String(repeating: " ", count: max(0, 10 - names[t].count)) + names[t] + " " + cells + " " + pad(i))
        }
        lines.append(String(format: "mean IoU %.4f  accuracy %.4f  (%d counted)", meanIoU, accuracy, total))
        return lines.joined(separator: "\n")
    }
}

/// Mean intersection-over-union for segmentation, streamed through a
/// confusion matrix: logits [N, C, H, W] against class maps [N, H, W]
/// (or any layout `Accuracy` takes).
public struct MeanIoU: Metric {
    /// The log key, "mean_iou" by default.
    public var name: String
    /// The accumulated counts.
    public private(set) var matrix: ConfusionMatrix

    /// Creates an empty accumulator for `classCount` classes.
    public init(classCount: Int, name: String = "mean_iou") {
        self.name = name
        self.matrix = ConfusionMatrix(classCount: classCount)
    }

    /// Adds one batch.
    public mutating func update(predictions: Tensor, targets: Tensor) {
        matrix.update(predictions: predictions, targets: targets)
    }

    /// The mean IoU over classes seen so far.
    public var result: Double { matrix.meanIoU }
    /// Forgets everything seen.
    public mutating func reset() { matrix.reset() }
}
