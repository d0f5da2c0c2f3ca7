import CKernels

/// 2-D transposed convolution (PyTorch's `conv_transpose2d`), the gradient
/// of `conv2d` with respect to its input.
///
/// - Parameters:
///   - input: [N, C, H, W].
///   - weight: [C, K/groups, kh, kw].
///   - bias: [K], optional.
/// - Returns: [N, K, Ho, Wo] with
///   Ho = (H-1)*stride - 2*pad + dil*(kh-1) + outputPadding + 1.
public func convTranspose2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil,
    stride: Size2 = 1, padding: Size2 = 0, outputPadding: Size2 = 0,
    dilation: Size2 = 1, groups: Int = 1
) -> Tensor {
    precondition(
        input.rank == 4 && weight.rank == 4,
        "convTranspose2d: input \(input.shape) and weight \(weight.shape) must both be rank 4")
    precondition(
        weight.shape[0] == input.shape[1],
        "convTranspose2d: weight \(weight.shape) expects \(weight.shape[0]) input channels, input \(input.shape) has \(input.shape[1])")
    var p = ck_conv_transpose2d_params()
    (p.n, p.c, p.h, p.w) = (Int32(input.shape[0]), Int32(input.shape[1]), Int32(input.shape[2]), Int32(input.shape[3]))
    (p.k, p.kh, p.kw) = (Int32(weight.shape[1] * groups), Int32(weight.shape[2]), Int32(weight.shape[3]))
    (p.stride_h, p.stride_w, p.pad_h, p.pad_w) = (Int32(stride.h), Int32(stride.w), Int32(padding.h), Int32(padding.w))
    (p.out_pad_h, p.out_pad_w) = (Int32(outputPadding.h), Int32(outputPadding.w))
    (p.dil_h, p.dil_w, p.groups) = (Int32(dilation.h), Int32(dilation.w), Int32(groups))
    checkKernel { ck_conv_transpose2d_check(&p, $0, $1) }
    if let bias {
        precondition(bias.shape == [Int(p.k)], "convTranspose2d: bias \(bias.shape) must be [\(p.k)]")
    }
    let params = p
    let out = Tensor(uninitializedShape: [Int(p.n), Int(p.k), Int(p.out_h), Int(p.out_w)])
    withUnsafePointer(to: params) { pp in
        ck_conv_transpose2d_forward_f32(pp, input.pointer, weight.pointer, bias?.pointer, out.pointer)
    }
    let x = input.detached, w = weight.detached
    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    let needsInputGradient = input.isTracked
    return Tensor.record(out, inputs: inputs) { g in
        withUnsafePointer(to: params) { pp in
            var dx: Tensor?
            if needsInputGradient {
                dx = Tensor(uninitializedShape: x.shape)
                ck_conv_transpose2d_backward_data_f32(pp, g.pointer, w.pointer, dx!.pointer)
            }
            let dw = Tensor(uninitializedShape: w.shape)
            ck_conv_transpose2d_backward_weight_f32(pp, x.pointer, g.pointer, dw.pointer)
            guard bias != nil else { return [dx, dw] }
            let db = Tensor(uninitializedShape: [Int(params.k)])
            ck_conv_transpose2d_backward_bias_f32(pp, g.pointer, db.pointer)
            return [dx, dw, db]
        }
    }
}
