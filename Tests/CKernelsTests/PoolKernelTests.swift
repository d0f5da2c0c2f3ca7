import CKernels
import XCTest

final class PoolKernelTests: XCTestCase {
    private typealias Check = ConvKernelCheck

    private func params(
        n: Int, c: Int, h: Int, w: Int, kernel: (Int, Int), stride: (Int, Int),
        pad: (Int, Int) = (0, 0), countIncludePad: Bool = false
    ) -> ck_pool2d_params {
        var p = ck_pool2d_params()
        (p.n, p.c, p.h, p.w) = (Int32(n), Int32(c), Int32(h), Int32(w))
        (p.kh, p.kw) = (Int32(kernel.0), Int32(kernel.1))
        (p.stride_h, p.stride_w) = (Int32(stride.0), Int32(stride.1))
        (p.pad_h, p.pad_w) = (Int32(pad.0), Int32(pad.1))
        p.count_include_pad = countIncludePad ? 1 : 0
        return p
    }

    /// Max and average pooling, forward and backward, fast at 1 and 2
    /// threads (bitwise equal) against the naive reference.
    private func checkAllPasses(
        _ params: ck_pool2d_params, x: [Float], rng: inout ConvKernelRNG,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var p = params
        let xCount = Int(p.n * p.c * p.h * p.w)
        let yCount = Int(p.n * p.c * p.out_h * p.out_w)
        let dy = rng.floats(yCount)
        let tag = "pool2d \(p)"

        var indices = [Int32](repeating: -1, count: yCount)
        let y = Check.atOneAndTwoThreads("\(tag) max forward", file: file, line: line) {
            var y = [Float](repeating: .nan, count: yCount)
            var ind = [Int32](repeating: -1, count: yCount)
            ck_max_pool2d_forward_f32(&p, x, &y, &ind)
            indices = ind
            return y
        }
        var yRef = [Float](repeating: .nan, count: yCount)
        var indicesRef = [Int32](repeating: -1, count: yCount)
        ck_max_pool2d_forward_f32_ref(&p, x, &yRef, &indicesRef)
        Check.assertClose(y, yRef, "\(tag) max forward", file: file, line: line)
        XCTAssertEqual(indices, indicesRef, "\(tag) max indices", file: file, line: line)

        let dx = Check.atOneAndTwoThreads("\(tag) max backward", file: file, line: line) {
            var dx = [Float](repeating: .nan, count: xCount)
            ck_max_pool2d_backward_f32(&p, dy, indicesRef, &dx)
            return dx
        }
        var dxRef = [Float](repeating: .nan, count: xCount)
        ck_max_pool2d_backward_f32_ref(&p, dy, indicesRef, &dxRef)
        Check.assertClose(dx, dxRef, "\(tag) max backward", file: file, line: line)

        // With ReLU: the reference's values through ReLU, bit for bit, the
        // same indices, and dy passed only where the output is > 0.
        let yReLU = Check.atOneAndTwoThreads("\(tag) max relu forward", file: file, line: line) {
            var y = [Float](repeating: .nan, count: yCount)
            var ind = [Int32](repeating: -1, count: yCount)
            ck_max_pool2d_relu_forward_f32(&p, x, 1, &y, &ind)
            XCTAssertEqual(ind, indicesRef, "\(tag) max relu indices", file: file, line: line)
            return y
        }
        XCTAssertEqual(
            yReLU.map(\.bitPattern), yRef.map { ($0 > 0 ? $0 : 0).bitPattern },
            "\(tag) max relu forward", file: file, line: line)
        let dxReLU = Check.atOneAndTwoThreads("\(tag) max relu backward", file: file, line: line) {
            var dx = [Float](repeating: .nan, count: xCount)
            ck_max_pool2d_relu_backward_f32(&p, yReLU, dy, indicesRef, &dx)
            return dx
        }
        var dxReLURef = [Float](repeating: .nan, count: xCount)
        ck_max_pool2d_backward_f32_ref(&p, zip(yReLU, dy).map { $0 > 0 ? $1 : 0 }, indicesRef, &dxReLURef)
        Check.assertClose(dxReLU, dxReLURef, "\(tag) max relu backward", file: file, line: line)

        let a = Check.atOneAndTwoThreads("\(tag) avg forward", file: file, line: line) {
            var y = [Float](repeating: .nan, count: yCount)
            ck_avg_pool2d_forward_f32(&p, x, &y)
            return y
        }
        var aRef = [Float](repeating: .nan, count: yCount)
        ck_avg_pool2d_forward_f32_ref(&p, x, &aRef)
        Check.assertClose(a, aRef, "\(tag) avg forward", file: file, line: line)

        let da = Check.atOneAndTwoThreads("\(tag) avg backward", file: file, line: line) {
            var dx = [Float](repeating: .nan, count: xCount)
            ck_avg_pool2d_backward_f32(&p, dy, &dx)
            return dx
        }
        var daRef = [Float](repeating: .nan, count: xCount)
        ck_avg_pool2d_backward_f32_ref(&p, dy, &daRef)
        Check.assertClose(da, daRef, "\(tag) avg backward", file: file, line: line)
    }

    func testRandomConfigurationsMatchReference() {
        var rng = ConvKernelRNG(seed: 0x9001)
        var ran = 0
        while ran < 48 {
            let kernel = (rng.int(1...4), rng.int(1...4))
            var p = params(
                n: rng.int(1...4), c: rng.int(1...5), h: rng.int(1...13), w: rng.int(1...13),
                kernel: kernel, stride: (rng.int(1...3), rng.int(1...3)),
                pad: (rng.int(0...kernel.0 / 2), rng.int(0...kernel.1 / 2)),
                countIncludePad: rng.int(0...1) == 1)
            if ran % 4 == 0 {
                // The 2x2 stride 2 fast path, odd sizes included.
                (p.kh, p.kw, p.stride_h, p.stride_w, p.pad_h, p.pad_w) = (2, 2, 2, 2, 0, 0)
            }
            guard ck_pool2d_check(&p, "max_pool2d", nil, 0) == 0 else { continue }
            ran += 1
            let count = Int(p.n * p.c * p.h * p.w)
            // Every third case draws small integers, so windows hold ties.
            let x =
                ran % 3 == 0
                ? (0..<count).map { _ in Float(rng.int(0...3)) } : rng.floats(count)
            checkAllPasses(p, x: x, rng: &rng)
        }
    }

    func testLargerPlanesRunInParallel() {
        // Enough elements for the kernels to fork.
        var rng = ConvKernelRNG(seed: 3)
        for var p in [
            params(n: 2, c: 8, h: 48, w: 47, kernel: (2, 2), stride: (2, 2)),
            params(n: 2, c: 8, h: 45, w: 48, kernel: (3, 3), stride: (2, 2), pad: (1, 1))
        ] {
            XCTAssertEqual(ck_pool2d_check(&p, "max_pool2d", nil, 0), 0)
            checkAllPasses(p, x: rng.floats(Int(p.n * p.c * p.h * p.w)), rng: &rng)
        }
    }

    /// One 2 x w plane with NaN at the given pixels: each NaN's window
    /// outputs NaN with the NaN's index; the rest match the reference.
    private func checkNaNWindows(
        w: Int, nans: [(pixel: Int, window: Int)], file: StaticString = #filePath, line: UInt = #line
    ) {
        var p = params(n: 1, c: 1, h: 2, w: w, kernel: (2, 2), stride: (2, 2))
        XCTAssertEqual(ck_pool2d_check(&p, "max_pool2d", nil, 0), 0, file: file, line: line)
        var x = (0..<2 * w).map { Float($0 % 7) }
        for n in nans { x[n.pixel] = .nan }
        let ow = w / 2
        var y = [Float](repeating: 0, count: ow), ind = [Int32](repeating: 0, count: ow)
        ck_max_pool2d_forward_f32(&p, x, &y, &ind)
        var yRef = y, indRef = ind
        ck_max_pool2d_forward_f32_ref(&p, x, &yRef, &indRef)
        XCTAssertEqual(ind, indRef, file: file, line: line)
        for n in nans {
            XCTAssertTrue(y[n.window].isNaN, file: file, line: line)
            XCTAssertEqual(Int(ind[n.window]), n.pixel, file: file, line: line)
        }
        for i in 0..<ow where !nans.contains(where: { $0.window == i }) {
            XCTAssertEqual(y[i], yRef[i], file: file, line: line)
        }
    }

    func testRowsOfFourOrMoreUseVectorBlocks() {
        // 2x2 stride 2 rows of at least 8 outputs take blocks of 8 (AVX2),
        // rows of 4-7 blocks of 4: whole blocks, a moved-back last block
        // (ow 13, 20, 5, 7), odd widths and heights, and ties (small
        // integers), which must keep the first maximum in scan order.
        var rng = ConvKernelRNG(seed: 31)
        for (h, w) in [(26, 26), (17, 16), (9, 41), (4, 33), (11, 11), (5, 8), (3, 15)] {
            var p = params(n: 3, c: 5, h: h, w: w, kernel: (2, 2), stride: (2, 2))
            XCTAssertEqual(ck_pool2d_check(&p, "max_pool2d", nil, 0), 0)
            let count = Int(p.n * p.c * p.h * p.w)
            checkAllPasses(p, x: (0..<count).map { _ in Float(rng.int(0...2)) }, rng: &rng)
            checkAllPasses(p, x: rng.floats(count), rng: &rng)
        }
        // NaN wins inside a vector block too, with its own index: blocks
        // of 8 (ow 10) and of 4 (ow 5).
        checkNaNWindows(w: 20, nans: [(3, 1), (20 + 12, 6)])
        checkNaNWindows(w: 10, nans: [(10 + 5, 2)])
    }

    func testBaselineISAVariantMatchesReference() {
        // The plane passes are compiled for AVX2 and for baseline x86-64;
        // force the baseline to test it on AVX2 machines too.
        let saved = String(cString: ck_isa_name())
        guard ck_force_isa("generic") == 0 else { return }
        defer { _ = ck_force_isa(saved) }
        var rng = ConvKernelRNG(seed: 21)
        for var p in [
            params(n: 2, c: 3, h: 9, w: 11, kernel: (3, 3), stride: (2, 2), pad: (1, 1)),
            params(n: 1, c: 2, h: 8, w: 7, kernel: (2, 3), stride: (1, 1), pad: (1, 1)),
            params(n: 2, c: 2, h: 7, w: 9, kernel: (2, 2), stride: (2, 2)),
            params(
                n: 1, c: 3, h: 10, w: 10, kernel: (4, 4), stride: (3, 3), pad: (2, 2),
                countIncludePad: true)
        ] {
            XCTAssertEqual(ck_pool2d_check(&p, "avg_pool2d", nil, 0), 0)
            checkAllPasses(p, x: rng.floats(Int(p.n * p.c * p.h * p.w)), rng: &rng)
        }
    }

    func testKnownValues() {
        // Worked by hand on [[1, 2, 3], [4, 5, 6], [7, 8, 9]] with a 2x2
        // window, stride 1, pad 1. Max: padding is -inf. Avg without padding
        // counts divides by the in-bounds part; with it, by the window
        // clipped to the padded input (always 4 here).
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        var p = params(n: 1, c: 1, h: 3, w: 3, kernel: (2, 2), stride: (2, 2), pad: (1, 1))
        XCTAssertEqual(ck_pool2d_check(&p, "avg_pool2d", nil, 0), 0)
        XCTAssertEqual([p.out_h, p.out_w], [2, 2])
        var y = [Float](repeating: 0, count: 4)
        var ind = [Int32](repeating: 0, count: 4)
        ck_max_pool2d_forward_f32(&p, x, &y, &ind)
        XCTAssertEqual(y, [1, 3, 7, 9])
        XCTAssertEqual(ind, [0, 2, 6, 8])
        ck_avg_pool2d_forward_f32(&p, x, &y)
        XCTAssertEqual(y, [1, 2.5, 5.5, 7])
        p.count_include_pad = 1
        ck_avg_pool2d_forward_f32(&p, x, &y)
        XCTAssertEqual(y, [0.25, 1.25, 2.75, 7])
        // Backward of the last: each output's gradient spread over 4.
        var dx = [Float](repeating: .nan, count: 9)
        ck_avg_pool2d_backward_f32(&p, [4, 4, 4, 4], &dx)
        XCTAssertEqual(dx, [1, 1, 1, 1, 1, 1, 1, 1, 1])
    }

    func testMaxPoolPropagatesNaN() {
        // PyTorch: a NaN in the window wins, and its index is recorded.
        var p = params(n: 1, c: 1, h: 2, w: 4, kernel: (2, 2), stride: (2, 2))
        XCTAssertEqual(ck_pool2d_check(&p, "max_pool2d", nil, 0), 0)
        let x: [Float] = [1, .nan, 5, 6, 7, 2, 3, 4]
        var y = [Float](repeating: 0, count: 2)
        var ind = [Int32](repeating: 0, count: 2)
        ck_max_pool2d_forward_f32(&p, x, &y, &ind)
        XCTAssertTrue(y[0].isNaN)
        XCTAssertEqual(ind, [1, 3])
        XCTAssertEqual(y[1], 6)
    }

    func testCheckRejectsBadParameters() {
        let good = params(n: 1, c: 2, h: 6, w: 6, kernel: (3, 3), stride: (2, 2), pad: (1, 1))
        let bad: [(String, (inout ck_pool2d_params) -> Void)] = [
            ("sizes", { $0.c = 0 }),
            ("kernel", { $0.kw = 0 }),
            ("stride", { $0.stride_h = 0 }),
            ("padding", { $0.pad_w = -1 }),
            ("pad should be at most half of effective kernel size", { $0.pad_h = 2 }),
            (
                "output height 0 < 1",
                {
                    $0.h = 1
                    $0.kh = 4
                    $0.pad_h = 1
                }
            ),
            (
                "output width",
                {
                    $0.w = 2
                    $0.pad_w = 0
                }
            )
        ]
        for op in ["max_pool2d", "avg_pool2d"] {
            for (expected, mutate) in bad {
                var p = good
                mutate(&p)
                let (status, text) = Check.message { ck_pool2d_check(&p, op, $0, $1) }
                XCTAssertEqual(status, -1, expected)
                XCTAssertTrue(text.hasPrefix("\(op): "), text)
                XCTAssertTrue(text.contains(expected), "\(text) lacks \(expected)")
            }
        }
    }
}
