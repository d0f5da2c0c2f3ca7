import CKernels

/// A pair of (height, width) integers for kernel sizes, strides and padding.
public struct Size2: Sendable, Hashable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var h: Int
    public var w: Int
    public init(_ h: Int, _ w: Int) {
        self.h = h
        self.w = w
    }
    public init(integerLiteral v: Int) { self.init(v, v) }
    public var description: String { "(\(h), \(w))" }
}

/// Throws away a C check's message buffer and stops with it: invalid conv
/// parameters are a programmer error at this level (layers validate configs).
func checkKernel(_ check: (UnsafeMutablePointer<CChar>, Int) -> Int32) {
    var buffer = [CChar](repeating: 0, count: 256)
    let status = buffer.withUnsafeMutableBufferPointer { check($0.baseAddress!, $0.count) }
    if status != 0 {
        let message = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        preconditionFailure(String(decoding: message, as: UTF8.self))
    }
}

/// The checked kernel parameters of a conv2d of `input` by `weight`; stops
/// on shapes that do not fit (a programmer error at this level).
func conv2dParams(
    _ input: Tensor, weight: Tensor, bias: Tensor?, stride: Size2, padding: Size2, dilation: Size2,
    groups: Int, op: String
) -> ck_conv2d_params {
    precondition(
        input.rank == 4 && weight.rank == 4,
        "\(op): input \(input.shape) and weight \(weight.shape) must both be rank 4")
    var p = ck_conv2d_params()
    (p.n, p.c, p.h, p.w) = (Int32(input.shape[0]), Int32(input.shape[1]), Int32(input.shape[2]), Int32(input.shape[3]))
    (p.k, p.kh, p.kw) = (Int32(weight.shape[0]), Int32(weight.shape[2]), Int32(weight.shape[3]))
    (p.stride_h, p.stride_w, p.pad_h, p.pad_w) = (Int32(stride.h), Int32(stride.w), Int32(padding.h), Int32(padding.w))
    (p.dil_h, p.dil_w, p.groups) = (Int32(dilation.h), Int32(dilation.w), Int32(groups))
    checkKernel { ck_conv2d_check(&p, $0, $1) }
    precondition(
        weight.shape[1] * groups == input.shape[1],
        "\(op): weight \(weight.shape) expects \(weight.shape[1] * groups) input channels, input \(input.shape) has \(input.shape[1])")
    if let bias {
        precondition(bias.shape == [weight.shape[0]], "\(op): bias \(bias.shape) must be [\(weight.shape[0])]")
    }
    return p
}

/// 2-D convolution (cross-correlation, as PyTorch's `conv2d`).
///
/// - Parameters:
///   - input: [N, C, H, W].
///   - weight: [K, C/groups, kh, kw].
///   - bias: [K], optional.
///   - fusedReLU: apply max(0, y) in place on the output (one op on the tape,
///     no separate activation tensor): the same values and gradients as
///     `conv2d(...).relu()`, with one pass and one buffer fewer.
/// - Returns: [N, K, Ho, Wo] with Ho = (H + 2*pad - dil*(kh-1) - 1) / stride + 1.
public func conv2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil,
    stride: Size2 = 1, padding: Size2 = 0, dilation: Size2 = 1, groups: Int = 1,
    fusedReLU: Bool = false
) -> Tensor {
    let params = conv2dParams(
        input, weight: weight, bias: bias, stride: stride, padding: padding,
        dilation: dilation, groups: groups, op: "conv2d")
    let p = params
    let out = Tensor(uninitializedShape: [Int(p.n), Int(p.k), Int(p.out_h), Int(p.out_w)])
    withUnsafePointer(to: params) { pp in
        ck_conv2d_forward_relu_f32(
            pp, input.pointer, weight.pointer, bias?.pointer, fusedReLU ? 1 : 0,
            out.pointer)
    }
    let x = input.detached, w = weight.detached
    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    // The input gradient of a first layer (images) is never used: skip it.
    let needsInputGradient = input.isTracked
    // Kept for the backward pass only when the ReLU needs its mask, so an
    // unfused output (say, one a fused max pool reduces) is freed early.
    let activated: Tensor? = fusedReLU ? out : nil
    return Tensor.record(out, inputs: inputs) { upstream in
        let db = bias != nil ? Tensor(uninitializedShape: [Int(params.k)]) : nil
        var g = upstream
        if let y = activated {
            // The ReLU's pullback and the bias gradient in one pass.
            g = Tensor(uninitializedShape: y.shape)
            ck_relu_backward_bias_f32(
                params.n, params.k, Int64(params.out_h) * Int64(params.out_w), y.pointer,
                upstream.pointer, g.pointer, db?.pointer)
        } else if let db {
            withUnsafePointer(to: params) { ck_conv2d_backward_bias_f32($0, g.pointer, db.pointer) }
        }
        return withUnsafePointer(to: params) { pp in
            var dx: Tensor?
            if needsInputGradient {
                dx = Tensor(uninitializedShape: x.shape)
                ck_conv2d_backward_data_f32(pp, g.pointer, w.pointer, dx!.pointer)
            }
            let dw = Tensor(uninitializedShape: w.shape)
            ck_conv2d_backward_weight_f32(pp, x.pointer, g.pointer, dw.pointer)
            return bias != nil ? [dx, dw, db] : [dx, dw]
        }
    }
}
