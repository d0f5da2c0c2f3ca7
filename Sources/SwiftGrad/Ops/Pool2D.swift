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

/// The argmax indices a max pool keeps for its backward pass, in a buffer
/// from the tensor pool: an Int32 per output, reused step after step like
/// tensor storage (a fresh array each call faulted in new pages every
/// step: 11 MB for MNIST's first pool at batch 512). Left uninitialized;
/// the forward kernel writes every index.
final class ArgmaxIndices {
    let pointer: UnsafeMutablePointer<Int32>
    private let count: Int

    init(count: Int) {
        self.count = count
        let storage = BufferPool.shared.allocate(count: count)
        pointer = UnsafeMutableRawPointer(storage).bindMemory(to: Int32.self, capacity: count)
    }

    deinit {
        let storage = UnsafeMutableRawPointer(pointer).bindMemory(to: Float.self, capacity: count)
        BufferPool.shared.release(storage, count: count)
    }
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
    let indices = ArgmaxIndices(count: out.count)
    withUnsafePointer(to: params) { pp in
        ck_max_pool2d_relu_forward_f32(pp, input.pointer, fusedReLU ? 1 : 0, out.pointer, indices.pointer)
    }
    let source = input.shape
    // Kept for the backward pass only when the ReLU needs its mask.
    let activated: Tensor? = fusedReLU ? out : nil
    return Tensor.record(out, inputs: [input]) { upstream in
        // A window whose maximum is <= 0 passes no gradient; any other
        // routes it to the same (first) argmax as the unfused order would.
        let dx = Tensor(uninitializedShape: source)
        withUnsafePointer(to: params) { pp in
            ck_max_pool2d_relu_backward_f32(
                pp, activated?.pointer, upstream.pointer, indices.pointer,
                dx.pointer)
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

/// `maxPool2d(conv2d(input, weight: weight, bias: bias, ...), ...)` as one op.
/// For memory-bound convs (c/groups*kh*kw up to 16, like MNIST's first
/// layer: 32x26x26 per image pooled to 32x13x13) the kernels run conv ->
/// pool a few images at a time in a cache-sized buffer and the backward pass
/// rebuilds the conv-output gradient the same way, never storing the
/// tensor four times the pooled size; other convs run on the whole batch.
///
/// Values and the input gradient are those of the two ops; the weight and
/// bias gradients sum the same terms in another order (equal to rounding).
/// All are the same at any thread count.
///
/// - Parameters:
///   - fusedReLU: max(0, y) on the pooled output, as `maxPool2d(fusedReLU:)`
///     (so the op equals conv -> ReLU -> max pool).
/// - Returns: [N, K, Hp, Wp], the pool of the [N, K, Ho, Wo] conv output.
public func conv2dMaxPool2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil,
    stride: Size2 = 1, padding: Size2 = 0, dilation: Size2 = 1, groups: Int = 1,
    poolSize: Size2, poolStride: Size2? = nil, poolPadding: Size2 = 0, fusedReLU: Bool = false
) -> Tensor {
    var conv = conv2dParams(
        input, weight: weight, bias: bias, stride: stride, padding: padding,
        dilation: dilation, groups: groups, op: "conv2dMaxPool2d")
    let poolStride = poolStride ?? poolSize
    var pool = ck_pool2d_params()
    (pool.n, pool.c, pool.h, pool.w) = (conv.n, conv.k, conv.out_h, conv.out_w)
    (pool.kh, pool.kw, pool.stride_h, pool.stride_w) = (
        Int32(poolSize.h), Int32(poolSize.w),
        Int32(poolStride.h), Int32(poolStride.w)
    )
    (pool.pad_h, pool.pad_w) = (Int32(poolPadding.h), Int32(poolPadding.w))
    checkKernel { ck_conv2d_maxpool_check(&conv, &pool, $0, $1) }
    let (cp, pp) = (conv, pool)
    let out = Tensor(uninitializedShape: [Int(pp.n), Int(pp.c), Int(pp.out_h), Int(pp.out_w)])
    let indices = ArgmaxIndices(count: out.count)
    withUnsafePointer(to: cp) { c in
        withUnsafePointer(to: pp) { p in
            ck_conv2d_maxpool_forward_f32(
                c, p, input.pointer, weight.pointer, bias?.pointer,
                fusedReLU ? 1 : 0, out.pointer, indices.pointer)
        }
    }
    let x = input.detached, w = weight.detached
    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    let needsInputGradient = input.isTracked
    let activated: Tensor? = fusedReLU ? out : nil
    return Tensor.record(out, inputs: inputs) { upstream in
        let dx = needsInputGradient ? Tensor(uninitializedShape: x.shape) : nil
        let dw = Tensor(uninitializedShape: w.shape)
        let db = bias != nil ? Tensor(uninitializedShape: [Int(cp.k)]) : nil
        withUnsafePointer(to: cp) { c in
            withUnsafePointer(to: pp) { p in
                // The ReLU's mask is applied inside, from the activated output.
                ck_conv2d_maxpool_backward_f32(
                    c, p, x.pointer, w.pointer, activated?.pointer,
                    upstream.pointer, indices.pointer, dx?.pointer, dw.pointer,
                    db?.pointer)
            }
        }
        return bias != nil ? [dx, dw, db] : [dx, dw]
    }
}
