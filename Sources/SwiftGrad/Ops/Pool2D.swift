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
/// - Parameter input: [N, C, H, W].
/// - Returns: [N, C, Ho, Wo], Ho = (H + 2*pad - kernel) / stride + 1.
///   `stride` defaults to the kernel size.
public func maxPool2d(_ input: Tensor, kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0) -> Tensor {
    let params = poolParams(input, kernelSize, stride ?? kernelSize, padding, op: "max_pool2d")
    let out = Tensor(uninitializedShape: [Int(params.n), Int(params.c), Int(params.out_h), Int(params.out_w)])
    var indices = [Int32](repeating: 0, count: out.count)
    withUnsafePointer(to: params) { pp in
        ck_max_pool2d_forward_f32(pp, input.pointer, out.pointer, &indices)
    }
    let source = input.shape
    return Tensor.record(out, inputs: [input]) { g in
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
