/// A streaming evaluation metric: `update` with each batch, read `result`
/// at the end. Counts are summed across batches, so the result over many
/// batches equals the result over their concatenation.
public protocol Metric: Sendable {
    /// The key under which the result is logged ("accuracy", "mean_iou"...).
    var name: String { get }
    /// Adds one batch of model outputs and targets.
    mutating func update(predictions: Tensor, targets: Tensor)
    /// The metric over everything seen since the last `reset`.
    var result: Double { get }
    /// Forgets everything seen.
    mutating func reset()
}

/// Predicted and true class indices from a batch, for classification
/// metrics. Accepted layouts:
/// - logits [N, C] with class indices [N] (or one-hot [N, C]);
/// - segmentation logits [N, C, H, W] with class maps [N, H, W] (class axis 1);
/// - binary logits [N] or [N, 1] with 0/1 targets (a logit > 0 is class 1).
func classPairs(_ predictions: Tensor, _ targets: Tensor, op: String) -> (predicted: [Int], actual: [Int]) {
    let p = predictions.detached, t = targets.detached
    let binary = p.rank == 1 || (p.rank == 2 && p.shape[1] == 1)
    if binary {
        precondition(t.count == p.count, "\(op): \(p.count) binary predictions for \(t.count) targets")
        return (p.scalars.map { $0 > 0 ? 1 : 0 }, t.scalars.map { $0 >= 0.5 ? 1 : 0 })
    }
    precondition(p.rank >= 2, "\(op): predictions \(p.shape) need a class axis 1")
    let predicted = p.argmaxIndices(alongAxis: 1)
    if t.shape == p.shape { return (predicted, t.argmaxIndices(alongAxis: 1)) }
    var expected = p.shape
    expected.remove(at: 1)
    precondition(t.shape == expected, "\(op): predictions \(p.shape) need targets \(expected) (or \(p.shape)), got \(t.shape)")
    return (predicted, t.scalars.map { Int($0) })
}

/// The fraction of samples (or pixels) whose arg-max class equals the target.
public struct Accuracy: Metric {
    /// The log key, "accuracy" by default.
    public var name: String
    /// Correct predictions so far.
    public private(set) var correct = 0
    /// Predictions so far.
    public private(set) var total = 0

    /// Creates an empty accumulator.
    public init(name: String = "accuracy") { self.name = name }

    /// Adds a batch (layouts as for classification; see `Metric`).
    public mutating func update(predictions: Tensor, targets: Tensor) {
        let (p, t) = classPairs(predictions, targets, op: "Accuracy")
        correct += zip(p, t).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        total += p.count
    }

    /// correct / total (0 before any update).
    public var result: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    /// Forgets everything seen.
    public mutating func reset() { (correct, total) = (0, 0) }
}

/// The fraction of samples whose target is among the `k` highest logits.
/// Predictions are [N, C] logits, targets [N] class indices. Ties are broken
/// toward the lower class index, as arg-max does.
public struct TopKAccuracy: Metric {
    /// How many top classes count as a hit.
    public let k: Int
    /// The log key, "top_<k>_accuracy" by default.
    public var name: String
    /// Hits so far.
    public private(set) var correct = 0
    /// Samples so far.
    public private(set) var total = 0

    /// Creates an empty accumulator.
    public init(k: Int, name: String? = nil) {
        precondition(k >= 1, "TopKAccuracy: k must be >= 1")
        self.k = k
        self.name = name ?? "top_\(k)_accuracy"
    }

    /// Adds a batch of logits [N, C] and class indices [N].
    public mutating func update(predictions: Tensor, targets: Tensor) {
        precondition(
            predictions.rank == 2 && targets.count == predictions.shape[0],
            "TopKAccuracy: need logits [N, C] and targets [N], got \(predictions.shape) and \(targets.shape)")
        let c = predictions.shape[1]
        let labels = targets.scalars
        predictions.withUnsafeBufferPointer { p in
            for (row, label) in labels.enumerated() {
                let y = Int(label)
                guard y >= 0 && y < c else { continue }  // counts as a miss
                let target = p[row * c + y]
                // Rank of the target: classes strictly better, or equal with a lower index.
                var better = 0
                for j in 0..<c where p[row * c + j] > target || (p[row * c + j] == target && j < y) { better += 1 }
                if better < k { correct += 1 }
            }
        }
        total += labels.count
    }

    /// hits / samples (0 before any update).
    public var result: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    /// Forgets everything seen.
    public mutating func reset() { (correct, total) = (0, 0) }
}
