import CKernels
import XCTest

/// ck_conv2d_maxpool_*: conv then max pool, a few images at a time for
/// memory-bound convs. Values and indices must be those of the two fast
/// kernels run one after the other, bit for bit; the gradients those of the
/// naive references (to rounding), all bitwise the same at 1 and 2 threads.
final class ConvPoolKernelTests: XCTestCase {
    private typealias Check = ConvKernelCheck

    private struct Shape {
        var conv: ck_conv2d_params
        var pool: ck_pool2d_params
    }

    private func shape(
        n: Int, c: Int, h: Int, w: Int, k: Int, kernel: Int, stride: Int = 1, pad: Int = 0,
        pool: Int = 2, poolStride: Int = 2, poolPad: Int = 0
    ) -> Shape {
        var cp = ck_conv2d_params()
        (cp.n, cp.c, cp.h, cp.w, cp.k) = (Int32(n), Int32(c), Int32(h), Int32(w), Int32(k))
        (cp.kh, cp.kw, cp.stride_h, cp.stride_w) = (Int32(kernel), Int32(kernel), Int32(stride), Int32(stride))
        (cp.pad_h, cp.pad_w, cp.dil_h, cp.dil_w, cp.groups) = (Int32(pad), Int32(pad), 1, 1, 1)
        XCTAssertEqual(ck_conv2d_check(&cp, nil, 0), 0)
        var pp = ck_pool2d_params()
        (pp.n, pp.c, pp.h, pp.w) = (cp.n, cp.k, cp.out_h, cp.out_w)
        (pp.kh, pp.kw, pp.stride_h, pp.stride_w) = (Int32(pool), Int32(pool), Int32(poolStride), Int32(poolStride))
        (pp.pad_h, pp.pad_w) = (Int32(poolPad), Int32(poolPad))
        XCTAssertEqual(ck_conv2d_maxpool_check(&cp, &pp, nil, 0), 0)
        return Shape(conv: cp, pool: pp)
    }

    func testMatchesConvThenPool() {
        var rng = ConvKernelRNG(seed: 91)
        let shapes = [
            // MNIST's first layer: 3 images a block (the 256 KiB bound),
            // 14 blocks summed in 8 chunks of 1-2.
            shape(n: 40, c: 1, h: 28, w: 28, k: 32, kernel: 3),
            // One block a chunk (blocks capped at n / 8 images), padding.
            shape(n: 23, c: 1, h: 9, w: 8, k: 5, kernel: 3, pad: 1),
            // Strided conv, overlapping padded windows, an odd last row.
            shape(n: 5, c: 4, h: 15, w: 12, k: 6, kernel: 2, stride: 2, pool: 3, poolStride: 2, poolPad: 1),
            // GEMM-based convs (inner size above 16) run as one block: the
            // unfused calls, or Winograd pooling in its output transform
            // (2x2 stride 2): whole tiles, MNIST's 11x11 (floor pooling
            // drops a row and a column; the last tile of a row pools one
            // column), odd sizes with padding.
            shape(n: 16, c: 16, h: 18, w: 18, k: 16, kernel: 3, pad: 1),
            shape(n: 12, c: 16, h: 13, w: 13, k: 20, kernel: 3),
            shape(n: 7, c: 17, h: 11, w: 9, k: 16, kernel: 3, pad: 1),
            shape(n: 9, c: 3, h: 9, w: 8, k: 5, kernel: 3, pad: 1)
        ]
        for s in shapes {
            check(s, relu: false, rng: &rng)
            check(s, relu: true, rng: &rng)
        }
    }

    func testBaselineISAMatchesConvThenPool() {
        // Without AVX2 the pool's backward pass is the scalar scatter, its
        // plane sums in four lanes: force the baseline to test it here too.
        let saved = String(cString: ck_isa_name())
        guard ck_force_isa("generic") == 0 else { return }
        defer { _ = ck_force_isa(saved) }
        var rng = ConvKernelRNG(seed: 92)
        // The scalar scatter; and Winograd's pooled output transform and
        // pooled backward in their portable builds.
        for s in [shape(n: 12, c: 1, h: 20, w: 21, k: 6, kernel: 3), shape(n: 6, c: 16, h: 13, w: 13, k: 18, kernel: 3)] {
            check(s, relu: false, rng: &rng)
            check(s, relu: true, rng: &rng)
        }
    }

    func testCheckRejectsAPoolOfAnotherShape() {
        var s = shape(n: 2, c: 1, h: 8, w: 8, k: 4, kernel: 3)
        s.pool.h += 1
        let (status, text) = Check.message { ck_conv2d_maxpool_check(&s.conv, &s.pool, $0, $1) }
        XCTAssertEqual(status, -1)
        XCTAssertTrue(text.contains("conv2d_maxpool"), text)
    }

    /// With relu, the unfused sequence is conv -> pool -> ReLU, and the
    /// references route dy through the ReLU's mask (pooled output > 0) first.
    private func check(
        _ s: Shape, relu: Bool, rng: inout ConvKernelRNG, file: StaticString = #filePath, line: UInt = #line
    ) {
        var (cp, pp) = (s.conv, s.pool)
        let (n, c, h, w, k) = (Int(cp.n), Int(cp.c), Int(cp.h), Int(cp.w), Int(cp.k))
        let xCount = n * c * h * w, wCount = k * c * Int(cp.kh) * Int(cp.kw)
        let convCount = n * k * Int(cp.out_h) * Int(cp.out_w)
        let yCount = n * k * Int(pp.out_h) * Int(pp.out_w)
        let x = rng.floats(xCount), wt = rng.floats(wCount), bias = rng.floats(k), dy = rng.floats(yCount)
        let tag = "conv2d_maxpool relu \(relu) \(cp) \(pp)"

        // The two fast kernels one after the other.
        var conv = [Float](repeating: .nan, count: convCount)
        var yUnfused = [Float](repeating: .nan, count: yCount)
        var indicesUnfused = [Int32](repeating: -1, count: yCount)
        ck_conv2d_forward_f32(&cp, x, wt, bias, &conv)
        ck_max_pool2d_forward_f32(&pp, conv, &yUnfused, &indicesUnfused)
        if relu { ck_unary_f32(CK_RELU, Int64(yCount), yUnfused, &yUnfused) }

        var indices = [Int32](repeating: -1, count: yCount)
        let y = Check.atOneAndTwoThreads("\(tag) forward", file: file, line: line) {
            var y = [Float](repeating: .nan, count: yCount)
            ck_conv2d_maxpool_forward_f32(&cp, &pp, x, wt, bias, relu ? 1 : 0, &y, &indices)
            return y
        }
        XCTAssertEqual(y.map(\.bitPattern), yUnfused.map(\.bitPattern), "\(tag) values", file: file, line: line)
        XCTAssertEqual(indices, indicesUnfused, "\(tag) indices", file: file, line: line)

        if relu {
            XCTAssertTrue(y.contains { $0 == 0 } && y.contains { $0 > 0 }, "\(tag) mask", file: file, line: line)
        }
        func withMask<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
            relu ? y.withUnsafeBufferPointer { body($0.baseAddress) } : body(nil)
        }

        // Gradients against the naive conv's, given the dense gradient the
        // pool's backward pass routes (of dy through the ReLU).
        let dyPassed = relu ? zip(y, dy).map { $0 > 0 ? $1 : 0 } : dy
        var dense = [Float](repeating: .nan, count: convCount)
        ck_max_pool2d_backward_f32_ref(&pp, dyPassed, indices, &dense)
        var dxRef = [Float](repeating: .nan, count: xCount)
        var dwRef = [Float](repeating: .nan, count: wCount)
        var dbRef = [Float](repeating: .nan, count: k)
        ck_conv2d_backward_data_f32_ref(&cp, dense, wt, &dxRef)
        ck_conv2d_backward_weight_f32_ref(&cp, x, dense, &dwRef)
        ck_conv2d_backward_bias_f32_ref(&cp, dense, &dbRef)
        let all = Check.atOneAndTwoThreads("\(tag) backward", file: file, line: line) {
            var dx = [Float](repeating: .nan, count: xCount)
            var dw = [Float](repeating: .nan, count: wCount)
            var db = [Float](repeating: .nan, count: k)
            withMask { ck_conv2d_maxpool_backward_f32(&cp, &pp, x, wt, $0, dy, indices, &dx, &dw, &db) }
            return dx + dw + db
        }
        Check.assertClose(Array(all[..<xCount]), dxRef, "\(tag) dx", file: file, line: line)
        Check.assertClose(Array(all[xCount..<(xCount + wCount)]), dwRef, "\(tag) dw", file: file, line: line)
        Check.assertClose(Array(all[(xCount + wCount)...]), dbRef, "\(tag) db", file: file, line: line)

        // GEMM-based convs run on the whole batch: dx and dw are those of
        // the pool's backward pass then the dense conv passes, bit for bit
        // (Winograd's scatter the pooled gradient into its padded blocks).
        if Int(cp.c) * Int(cp.kh) * Int(cp.kw) > 16 {
            var dense = [Float](repeating: .nan, count: convCount)
            withMask { ck_max_pool2d_relu_backward_f32(&pp, $0, dy, indices, &dense) }
            var dxDense = [Float](repeating: .nan, count: xCount)
            var dwDense = [Float](repeating: .nan, count: wCount)
            ck_conv2d_backward_data_f32(&cp, dense, wt, &dxDense)
            ck_conv2d_backward_weight_f32(&cp, x, dense, &dwDense)
            XCTAssertEqual(
                all[..<xCount].map(\.bitPattern), dxDense.map(\.bitPattern),
                "\(tag) dx as the dense pass", file: file, line: line)
            XCTAssertEqual(
                all[xCount..<(xCount + wCount)].map(\.bitPattern), dwDense.map(\.bitPattern),
                "\(tag) dw as the dense pass", file: file, line: line)
        }

        // Without dx and db: the same dw.
        var dwOnly = [Float](repeating: .nan, count: wCount)
        withMask { ck_conv2d_maxpool_backward_f32(&cp, &pp, x, wt, $0, dy, indices, nil, &dwOnly, nil) }
        XCTAssertEqual(
            dwOnly.map(\.bitPattern), all[xCount..<(xCount + wCount)].map(\.bitPattern),
            "\(tag) dw alone", file: file, line: line)
    }
}
