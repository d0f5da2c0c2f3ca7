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

/// Mean softmax cross-entropy of scores laid out [outer, classes, inner]
/// (class axis last when inner is 1, NCHW scores when inner is H * W)
/// against class indices stored as floats in `labels` ([outer, inner]),
/// with optional per-class weights (PyTorch's weighted mean:
/// sum(w * nll) / sum(w)).
private func classCrossEntropy(
    _ logits: Tensor, outer: Int, inner: Int, labels: Tensor, weights: [Float]?, op: String
) -> Tensor {
    let classes = logits.shape[1]
    if let weights {
        precondition(weights.count == classes, "\(op): \(weights.count) class weights for \(classes) classes")
    }
    let prob = Tensor(uninitializedShape: logits.shape)
    var total: Double = 0, weightSum: Double = 0
    let bad = withOptionalPointer(weights) { w in
        ck_softmax_xent_f32(
            Int64(outer), Int64(classes), Int64(inner), logits.pointer, labels.pointer, w, prob.pointer, &total, &weightSum)
    }
    precondition(bad < 0, "\(op): label \(labels.pointer[Int(bad)]) is not a class index in 0..<\(classes)")
    let norm = Float(weightSum > 0 ? weightSum : 1)
    let loss = Tensor(Float(total) / norm)
    return Tensor.record(loss, inputs: [logits]) { g in
        // d/dlogits = w_y * (softmax - onehot) / sum(w), times the upstream scalar.
        let dx = Tensor(uninitializedShape: prob.shape)
        withOptionalPointer(weights) { w in
            ck_softmax_xent_backward_f32(
                Int64(outer), Int64(classes), Int64(inner), prob.pointer, labels.pointer, w, g.scalar / norm, dx.pointer)
        }
        return [dx]
    }
}

/// Calls `body` with a pointer to the array's floats, or nil without one.
private func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
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
    return classCrossEntropy(
        logits, outer: logits.shape[0], inner: 1, labels: labels, weights: classWeights, op: "softmaxCrossEntropy")
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
    return classCrossEntropy(
        logits, outer: logits.shape[0], inner: logits.shape[2] * logits.shape[3], labels: labels, weights: classWeights,
        op: "pixelwiseSoftmaxCrossEntropy")
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
