import CKernels

/// One benchmark case: a letter, an op, and the passes it times. `prepare`
/// allocates inputs and returns the passes, each with the work it does and
/// a closure that runs it once; `release` frees what prepare allocated.
struct BenchCase {
    let id: String
    let op: String
    let shape: String
    let prepare: () -> (passes: [(String, Work, () -> Void)], release: () -> Void)
    /// The algorithm a pass runs with the current settings ("-" if not a conv).
    var algorithm: (String) -> String = { _ in "-" }

    func matches(_ filters: [String]) -> Bool {
        // A single letter names a case; anything longer is an op substring.
        filters.isEmpty || filters.contains { $0 == id || ($0.count > 1 && op.contains($0)) }
    }
}

private func fail(_ what: String, _ err: [CChar]) -> Never {
    let message = err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    fatalError("\(what): \(message)")
}

/// Conv (no bias): forward, gradient wrt input, gradient wrt weight.
/// FLOPs of every pass = 2 * N * K * C * kh * kw * Ho * Wo.
func convCase(
    _ id: String, n: Int, c: Int, h: Int, w: Int, k: Int, kernel: Int,
    stride: Int = 1, pad: Int
) -> BenchCase {
    var p = ck_conv2d_params()
    (p.n, p.c, p.h, p.w, p.k) = (Int32(n), Int32(c), Int32(h), Int32(w), Int32(k))
    (p.kh, p.kw, p.stride_h, p.stride_w) = (Int32(kernel), Int32(kernel), Int32(stride), Int32(stride))
    (p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.groups) = (Int32(pad), Int32(pad), 1, 1, 1)
    var err = [CChar](repeating: 0, count: 256)
    if ck_conv2d_check(&p, &err, err.count) != 0 { fail("conv2d case \(id)", err) }
    let params = p
    let (oh, ow) = (Int(p.out_h), Int(p.out_w))
    let flops = 2.0 * Double(n * k * c * kernel * kernel * oh * ow)
    let shape = "N\(n) C\(c) \(h)x\(w) -> K\(k) \(oh)x\(ow), \(kernel)x\(kernel) s\(stride) p\(pad)"
    var benchCase = BenchCase(id: id, op: "conv2d", shape: shape) {
        let x = FloatBuffer(count: n * c * h * w, seed: 1)
        let wt = FloatBuffer(count: k * c * kernel * kernel, seed: 2)
        let y = FloatBuffer(count: n * k * oh * ow, seed: 3)
        let dx = FloatBuffer(count: x.count, seed: 4)
        let dw = FloatBuffer(count: wt.count, seed: 5)
        let passes: [(String, Work, () -> Void)] = [
            (
                "forward", .flops(flops),
                {
                    withUnsafePointer(to: params) { ck_conv2d_forward_f32($0, x.pointer, wt.pointer, nil, y.pointer) }
                }
            ),
            (
                "backward_data", .flops(flops),
                {
                    withUnsafePointer(to: params) { ck_conv2d_backward_data_f32($0, y.pointer, wt.pointer, dx.pointer) }
                }
            ),
            (
                "backward_weight", .flops(flops),
                {
                    withUnsafePointer(to: params) { ck_conv2d_backward_weight_f32($0, x.pointer, y.pointer, dw.pointer) }
                }
            )
        ]
        return (passes, { for buffer in [x, wt, y, dx, dw] { buffer.free() } })
    }
    benchCase.algorithm = { pass in
        let index: Int32 = pass == "forward" ? 0 : pass == "backward_data" ? 1 : 2
        return withUnsafePointer(to: params) { String(cString: ck_conv2d_algorithm($0, index)) }
    }
    return benchCase
}

/// Transposed conv (no bias), counted as its equivalent conv:
/// FLOPs = 2 * N * C_in * K * kh * kw * H_in * W_in.
func convTransposeCase(
    _ id: String, n: Int, c: Int, h: Int, w: Int, k: Int, kernel: Int,
    stride: Int, pad: Int = 0, outputPadding: Int = 0
) -> BenchCase {
    var p = ck_conv_transpose2d_params()
    (p.n, p.c, p.h, p.w, p.k) = (Int32(n), Int32(c), Int32(h), Int32(w), Int32(k))
    (p.kh, p.kw, p.stride_h, p.stride_w) = (Int32(kernel), Int32(kernel), Int32(stride), Int32(stride))
    (p.pad_h, p.pad_w, p.out_pad_h, p.out_pad_w) = (Int32(pad), Int32(pad), Int32(outputPadding), Int32(outputPadding))
    (p.dil_h, p.dil_w, p.groups) = (1, 1, 1)
    var err = [CChar](repeating: 0, count: 256)
    if ck_conv_transpose2d_check(&p, &err, err.count) != 0 { fail("conv_transpose2d case \(id)", err) }
    let params = p
    let (oh, ow) = (Int(p.out_h), Int(p.out_w))
    let flops = 2.0 * Double(n * c * k * kernel * kernel * h * w)
    let shape = "N\(n) C\(c) \(h)x\(w) -> K\(k) \(oh)x\(ow), \(kernel)x\(kernel) s\(stride) p\(pad) op\(outputPadding)"
    return BenchCase(id: id, op: "conv_transpose2d", shape: shape) {
        let x = FloatBuffer(count: n * c * h * w, seed: 1)
        let wt = FloatBuffer(count: c * k * kernel * kernel, seed: 2)
        let y = FloatBuffer(count: n * k * oh * ow, seed: 3)
        let dx = FloatBuffer(count: x.count, seed: 4)
        let dw = FloatBuffer(count: wt.count, seed: 5)
        let passes: [(String, Work, () -> Void)] = [
            (
                "forward", .flops(flops),
                {
                    withUnsafePointer(to: params) { ck_conv_transpose2d_forward_f32($0, x.pointer, wt.pointer, nil, y.pointer) }
                }
            ),
            (
                "backward_data", .flops(flops),
                {
                    withUnsafePointer(to: params) { ck_conv_transpose2d_backward_data_f32($0, y.pointer, wt.pointer, dx.pointer) }
                }
            ),
            (
                "backward_weight", .flops(flops),
                {
                    withUnsafePointer(to: params) { ck_conv_transpose2d_backward_weight_f32($0, x.pointer, y.pointer, dw.pointer) }
                }
            )
        ]
        return (passes, { for buffer in [x, wt, y, dx, dw] { buffer.free() } })
    }
}

/// 2x2 stride-2 pooling, forward and backward, measured in GB/s of the
/// bytes each pass reads and writes (max pool also writes and reads its
/// int32 argmax indices).
func poolCase(_ id: String, max isMax: Bool, n: Int, c: Int, h: Int, w: Int) -> BenchCase {
    var p = ck_pool2d_params()
    (p.n, p.c, p.h, p.w) = (Int32(n), Int32(c), Int32(h), Int32(w))
    (p.kh, p.kw, p.stride_h, p.stride_w, p.pad_h, p.pad_w) = (2, 2, 2, 2, 0, 0)
    let op = isMax ? "max_pool2d" : "avg_pool2d"
    var err = [CChar](repeating: 0, count: 256)
    if ck_pool2d_check(&p, op, &err, err.count) != 0 { fail("\(op) case \(id)", err) }
    let params = p
    let (inCount, outCount) = (n * c * h * w, n * c * Int(p.out_h) * Int(p.out_w))
    let index = isMax ? 4.0 * Double(outCount) : 0
    let bytes = 4.0 * Double(inCount + outCount) + index
    let shape = "N\(n) C\(c) \(h)x\(w), 2x2 s2"
    return BenchCase(id: id, op: op, shape: shape) {
        let x = FloatBuffer(count: inCount, seed: 1)
        let y = FloatBuffer(count: outCount, seed: 2)
        let dx = FloatBuffer(count: inCount, seed: 3)
        let indices = UnsafeMutablePointer<Int32>.allocate(capacity: outCount)
        indices.initialize(repeating: 0, count: outCount)
        var passes: [(String, Work, () -> Void)] = []
        if isMax {
            passes = [
                (
                    "forward", .bytes(bytes),
                    {
                        withUnsafePointer(to: params) { ck_max_pool2d_forward_f32($0, x.pointer, y.pointer, indices) }
                    }
                ),
                (
                    "backward", .bytes(bytes),
                    {
                        withUnsafePointer(to: params) { ck_max_pool2d_backward_f32($0, y.pointer, indices, dx.pointer) }
                    }
                )
            ]
            // Valid argmax indices for the backward pass.
            withUnsafePointer(to: params) { ck_max_pool2d_forward_f32($0, x.pointer, y.pointer, indices) }
        } else {
            passes = [
                (
                    "forward", .bytes(bytes),
                    {
                        withUnsafePointer(to: params) { ck_avg_pool2d_forward_f32($0, x.pointer, y.pointer) }
                    }
                ),
                (
                    "backward", .bytes(bytes),
                    {
                        withUnsafePointer(to: params) { ck_avg_pool2d_backward_f32($0, y.pointer, dx.pointer) }
                    }
                )
            ]
        }
        return (
            passes,
            {
                for buffer in [x, y, dx] { buffer.free() }
                indices.deallocate()
            }
        )
    }
}

/// C[m x n] = A[m x k] * B[k x n], row-major, no transposes, beta = 0.
func gemmCase(_ id: String, m: Int, n: Int, k: Int) -> BenchCase {
    let shape = "\(m)x\(n)x\(k)"
    return BenchCase(id: id, op: "sgemm_\(shape)", shape: "M\(m) N\(n) K\(k)") {
        let a = FloatBuffer(count: m * k, seed: 1)
        let b = FloatBuffer(count: k * n, seed: 2)
        let c = FloatBuffer(count: m * n, seed: 3)
        let pass: (String, Work, () -> Void) = (
            "forward", .flops(2.0 * Double(m * n * k)),
            {
                ck_sgemm(
                    0, 0, Int32(m), Int32(n), Int32(k), 1, a.pointer, Int32(k),
                    b.pointer, Int32(n), 0, c.pointer, Int32(n))
            }
        )
        return ([pass], { for buffer in [a, b, c] { buffer.free() } })
    }
}

/// The suite, cases a-k (PyTorch twin: Benchmarks/pytorch_reference.py).
var allCases: [BenchCase] {
    [
        convCase("a", n: 512, c: 1, h: 28, w: 28, k: 32, kernel: 3, pad: 0),
        convCase("b", n: 512, c: 32, h: 13, w: 13, k: 64, kernel: 3, pad: 0),
        convCase("c", n: 32, c: 64, h: 56, w: 56, k: 64, kernel: 3, pad: 1),
        convCase("d", n: 8, c: 64, h: 128, w: 128, k: 64, kernel: 3, pad: 1),
        convCase("e", n: 32, c: 256, h: 28, w: 28, k: 128, kernel: 1, pad: 0),
        convCase("f", n: 32, c: 64, h: 56, w: 56, k: 128, kernel: 3, stride: 2, pad: 1),
        poolCase("g", max: true, n: 32, c: 64, h: 112, w: 112),
        poolCase("h", max: false, n: 32, c: 64, h: 112, w: 112),
        convTransposeCase("i", n: 8, c: 128, h: 32, w: 32, k: 64, kernel: 2, stride: 2),
        convTransposeCase(
            "j", n: 16, c: 64, h: 32, w: 32, k: 32, kernel: 3, stride: 2, pad: 1,
            outputPadding: 1),
        gemmCase("k", m: 1024, n: 1024, k: 1024),
        gemmCase("k", m: 512, n: 576, k: 64),
        unetStepCase("l")
    ]
}
