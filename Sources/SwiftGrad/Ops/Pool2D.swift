import CKernels

func poolParams(_ input: Tensor, _ kernel: Size2, _ stride: Size2, _ padding: Size2, op: String) -> ck_pool2d_params {
    precondition(input.rank == 4, "\(op): input \(input.shape) must be rank 4 [N, C, H, W]")
    var p = ck_pool2d_params()
    (p.n, p.c, p.h, p.w) = (Int32(input.shape[0]), Int32(input.shape[1]), Int32(input.shape[2]), Int32(input.shape[3]))
    (p.kh, p.kw, p.stride_h, p.stride_w) = (Int32(kernel.h), Int32(kernel.w), Int32(stride.h), Int32(stride.w))
    (p.pad_h, p.pad_w) = (Int32(padding.h), Int32(padding.w))
    checkKernel { buffer, length in op.withCString { ck_pool2d_check(&p, $0, buffer, length) } }
    return p
}

/// 2-D max pooling (PyTorch's `max_pool2d`, floor mode). Padding counts as
/// -infinity. The backward pass routes each gradient to the saved argmax.
///
/// - Parameters:
///   - input: [N, C, H, W].
///   - fusedReLU: apply max(0, y) in place on the pooled output (one op on
///     the tape). ReLU is monotone, so this gives the same values and
///     gradients as `maxPool2d(input.relu(), ...)` (bit for bit, for inputs
///     without NaN) while the ReLU and its backward run on the pooled tensor
///     instead of the larger input: `conv2d` followed by a pool with
///     `fusedReLU` is the cheap form of conv + ReLU + pool.
/// - Returns: [N, C, Ho, Wo], Ho = (H + 2*pad - kernel) / stride + 1.
///   `stride` defaults to the kernel size.
public func maxPool2d(
    _ input: Tensor, kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0, fusedReLU: Bool = false
) -> Tensor {
    let params = poolParams(input, kernelSize, stride ?? kernelSize, padding, op: "max_pool2d")
    let out = Tensor(uninitializedShape: [Int(params.n), Int(params.c), Int(params.out_h), Int(params.out_w)])
    var indices = [Int32](repeating: 0, count: out.count)
    withUnsafePointer(to: params) { pp in
        ck_max_pool2d_forward_f32(pp, input.pointer, out.pointer, &indices)
    }
    if fusedReLU { ck_unary_f32(CK_RELU, Int64(out.count), out.pointer, out.pointer) }
    let source = input.shape
    // Kept for the backward pass only when the ReLU needs its mask.
    let activated: Tensor? = fusedReLU ? out : nil
    return Tensor.record(out, inputs: [input]) { upstream in
        // A window whose maximum is <= 0 passes no gradient; any other
        // routes it to the same (first) argmax as the unfused order would.
        let g = activated.map { reluPullback(output: $0, upstream: upstream) } ?? upstream
        let dx = Tensor(uninitializedShape: source)
        withUnsafePointer(to: params) { pp in
            ck_max_pool2d_backward_f32(pp, g.pointer, indices, dx.pointer)
        }
        return [dx]
    }
}

/// 2-D average pooling (PyTorch's `avg_pool2d`, floor mode).
///
/// - Parameters:
///   - input: [N, C, H, W].
///   - countIncludePad: divide by the whole window, padding included.
/// - Returns: [N, C, Ho, Wo]. `stride` defaults to the kernel size.
public func avgPool2d(
    _ input: Tensor, kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0,
    countIncludePad: Bool = true
) -> Tensor {
    var params = poolParams(input, kernelSize, stride ?? kernelSize, padding, op: "avg_pool2d")
    params.count_include_pad = countIncludePad ? 1 : 0
    let p = params
    let out = Tensor(uninitializedShape: [Int(p.n), Int(p.c), Int(p.out_h), Int(p.out_w)])
    withUnsafePointer(to: p) { pp in ck_avg_pool2d_forward_f32(pp, input.pointer, out.pointer) }
    let source = input.shape
    return Tensor.record(out, inputs: [input]) { g in
        let dx = Tensor(uninitializedShape: source)
        withUnsafePointer(to: p) { pp in ck_avg_pool2d_backward_f32(pp, g.pointer, dx.pointer) }
        return [dx]
    }
}
