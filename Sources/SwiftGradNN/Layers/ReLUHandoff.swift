// Handing a ReLU on to the next layer. ReLU is monotone, so it commutes with
// max pooling: maxpool(relu(x)) == relu(maxpool(x)), bit for bit, with the
// same gradients (a window whose maximum is <= 0 passes none either way; any
// other routes it to the same first argmax). Only NaN inputs differ: the pool
// propagates a NaN that the ReLU then zeroes. Applied after the pool, the
// ReLU and its backward pass touch a tensor the window size smaller (4x for
// 2x2) than the convolution output, which is also freed after pooling. A
// Conv2D and its max pool go further and run as one op that never stores
// the convolution output (`conv2dMaxPool2d`).
// `Sequential` and `Graph` run Conv2D(.relu) -> MaxPool2D and
// ReLU -> MaxPool2D this way; parameter names, configs and summaries do not
// change.

/// A layer whose output ends with a ReLU that it can leave to the layer
/// after it: `Conv2D` with a `.relu` activation, `ReLU`.
protocol ReLUGiving: Layer {
    /// Whether the output ends with max(0, ·).
    var endsWithReLU: Bool { get }
    /// The output without that final ReLU (same shape).
    /// - Precondition: `endsWithReLU`.
    func callWithoutReLU(_ input: Tensor) -> Tensor
}

/// A layer that commutes with ReLU, `layer(relu(x)) == relu(layer(x))` with
/// the same gradients, and applies the ReLU to its own output more cheaply
/// than a separate ReLU on its input: `MaxPool2D`.
protocol ReLUTaking: Layer {
    /// `self(input.relu())`, computed with the ReLU on the output.
    func callAfterReLU(_ input: Tensor) -> Tensor
}

/// `second(first(input))` for a handoff pair: the ReLU in the taker, and for
/// `Conv2D` -> `MaxPool2D` one fused op (`conv2dMaxPool2d`) that never
/// stores the conv output either (same values; weight and bias gradients
/// equal up to the order of their sums).
func runHandoff(_ giver: any ReLUGiving, _ taker: any ReLUTaking, _ input: Tensor) -> Tensor {
    if let conv = giver as? Conv2D, let pool = taker as? MaxPool2D {
        return conv.callPooled(input, by: pool)
    }
    return taker.callAfterReLU(giver.callWithoutReLU(input))
}

/// The two layers, typed for the handoff, when the ReLU that ends `first`
/// can run inside `second` instead:
/// `taker.callAfterReLU(giver.callWithoutReLU(x)) == second(first(x))`.
/// Nil when the pair does not allow it.
func reluHandoff(from first: any Layer, to second: any Layer) -> (giver: any ReLUGiving, taker: any ReLUTaking)? {
    guard let giver = first as? any ReLUGiving, giver.endsWithReLU, let taker = second as? any ReLUTaking else { return nil }
    return (giver, taker)
}
