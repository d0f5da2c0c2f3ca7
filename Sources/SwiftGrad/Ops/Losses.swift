import CKernels
import Foundation

extension Tensor {
    /// Softmax along `axis` (the last by default), computed stably.
    public func softmax(alongAxis axis: Int = -1) -> Tensor {
        let y = softmaxKernel(alongAxis: axis, log: false)
        return Tensor.record(y, inputs: [self]) { g in
            // dx = y * (g - sum(g * y))
            let gy = g * y
            return [gy - y * gy.sum(alongAxis: axis, keepingDims: true)]
        }
    }

    /// Log-softmax along `axis` (the last by default): x - logsumexp(x).
    public func logSoftmax(alongAxis axis: Int = -1) -> Tensor {
        let y = softmaxKernel(alongAxis: axis, log: true)
        return Tensor.record(y, inputs: [self]) { g in
            // dx = g - softmax * sum(g)
            [g - y.exp() * g.sum(alongAxis: axis, keepingDims: true)]
        }
    }

    /// Log-sum-exp along `axis`, stable for large inputs.
    public func logSumExp(alongAxis axis: Int = -1, keepingDims: Bool = false) -> Tensor {
        let m = withoutGradient { self.max(alongAxis: axis, keepingDims: true) }
        let r = (self - m).exp().sum(alongAxis: axis, keepingDims: true).log() + m
        return keepingDims ? r : r.squeezed(axis: axis)
    }

    private func softmaxKernel(alongAxis axis: Int, log: Bool) -> Tensor {
        let a = Tensor.axis(axis, rank: rank, op: log ? "logSoftmax" : "softmax")
        if a == rank - 1 {
            let out = Tensor(uninitializedShape: shape)
            ck_softmax_f32(Int64(count / Swift.max(shape[a], 1)), Int64(shape[a]), pointer, out.pointer, log ? 1 : 0)
            return out
        }
        // Move the axis last, apply, move it back (values only).
        var p = Array(0..<rank)
        p.remove(at: a)
        p.append(a)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, q) in p.enumerated() { inverse[q] = i }
        return withoutGradient { detached.permuted(p).softmaxKernel(alongAxis: -1, log: log).permuted(inverse) }
    }
}

/// Class indices held in a float tensor, checked against the class count.
private func classIndices(_ labels: Tensor, classes: Int, op: String) -> [Int] {
    labels.scalars.map { v in
        let i = Int(v)
        precondition(Float(i) == v && i >= 0 && i < classes, "\(op): label \(v) is not a class index in 0..<\(classes)")
        return i
    }
}

/// Mean cross-entropy of rows of logits [R, C] against class indices, with
/// optional per-class weights (PyTorch's weighted mean: sum(w*nll)/sum(w)).
private func rowCrossEntropy(_ logits: Tensor, _ labels: [Int], weights: [Float]?) -> Tensor {
    let (rows, classes) = (logits.shape[0], logits.shape[1])
    let logp = Tensor(uninitializedShape: logits.shape)
    ck_softmax_f32(Int64(rows), Int64(classes), logits.pointer, logp.pointer, 1)
    var total: Double = 0, weightSum: Double = 0
    for r in 0..<rows {
        let w = Double(weights?[labels[r]] ?? 1)
        total -= w * Double(logp.pointer[r * classes + labels[r]])
        weightSum += w
    }
    let norm = Float(weightSum > 0 ? weightSum : 1)
    let loss = Tensor(Float(total) / norm)
    return Tensor.record(loss, inputs: [logits]) { g in
        // d/dlogits = w_y * (softmax - onehot) / sum(w), times the upstream scalar.
        let scale = g.scalar / norm
        let dx = Tensor(uninitializedShape: logp.shape)
        for r in 0..<rows {
            let w = (weights?[labels[r]] ?? 1) * scale
            for c in 0..<classes {
                let p = expf(logp.pointer[r * classes + c])
                dx.pointer[r * classes + c] = w * (p - (c == labels[r] ? 1 : 0))
            }
        }
        return [dx]
    }
}

/// Softmax cross-entropy averaged over the batch.
///
/// - Parameters:
///   - logits: [N, C] unnormalized scores.
///   - labels: [N] class indices stored as floats.
///   - classWeights: optional [C] weights.
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, classWeights: [Float]? = nil) -> Tensor {
    precondition(
        logits.rank == 2 && labels.shape == [logits.shape[0]],
        "softmaxCrossEntropy: logits \(logits.shape) need [N, C] with labels [N], got labels \(labels.shape)")
    let idx = classIndices(labels, classes: logits.shape[1], op: "softmaxCrossEntropy")
    return rowCrossEntropy(logits, idx, weights: classWeights)
}

/// Softmax cross-entropy against target distributions (one-hot or soft),
/// averaged over the batch. logits and probabilities are both [N, C].
public func softmaxCrossEntropy(logits: Tensor, probabilities: Tensor) -> Tensor {
    precondition(
        logits.shape == probabilities.shape && logits.rank == 2,
        "softmaxCrossEntropy: logits \(logits.shape) and probabilities \(probabilities.shape) must both be [N, C]")
    return -(probabilities.detached * logits.logSoftmax()).sum() / Float(logits.shape[0])
}

/// Per-pixel softmax cross-entropy for segmentation, averaged over pixels
/// (weighted mean when `classWeights` is given).
///
/// - Parameters:
///   - logits: [N, C, H, W].
///   - labels: [N, H, W] class indices stored as floats.
public func pixelwiseSoftmaxCrossEntropy(logits: Tensor, labels: Tensor, classWeights: [Float]? = nil) -> Tensor {
    precondition(
        logits.rank == 4 && labels.shape == [logits.shape[0], logits.shape[2], logits.shape[3]],
        "pixelwiseSoftmaxCrossEntropy: logits \(logits.shape) need [N, C, H, W] with labels [N, H, W], got \(labels.shape)")
    let c = logits.shape[1]
    if let classWeights {
        precondition(classWeights.count == c, "pixelwiseSoftmaxCrossEntropy: \(classWeights.count) class weights for \(c) classes")
    }
    let rows = logits.permuted([0, 2, 3, 1]).reshaped(to: [-1, c])
    let idx = classIndices(labels, classes: c, op: "pixelwiseSoftmaxCrossEntropy")
    return rowCrossEntropy(rows, idx, weights: classWeights)
}

/// Binary cross-entropy on logits, averaged: mean(max(x,0) - x*z + log(1+e^-|x|)).
/// logits and targets (in [0, 1]) share one shape.
public func sigmoidCrossEntropy(logits: Tensor, labels: Tensor) -> Tensor {
    precondition(logits.shape == labels.shape, "sigmoidCrossEntropy: logits \(logits.shape) and labels \(labels.shape) differ")
    let z = labels.detached
    let x = logits
    let stable = x.relu() - x * z + (1 + (-x.abs()).exp()).log()
    return stable.mean()
}

/// Mean squared error over every element; shapes must match.
public func meanSquaredError(predicted: Tensor, expected: Tensor) -> Tensor {
    precondition(predicted.shape == expected.shape, "meanSquaredError: shapes \(predicted.shape) and \(expected.shape) differ")
    let d = predicted - expected
    return (d * d).mean()
}
