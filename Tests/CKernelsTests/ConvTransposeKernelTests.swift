import CKernels
import XCTest

final class ConvTransposeKernelTests: XCTestCase {
    private typealias Check = ConvKernelCheck

    private func params(
        n: Int, c: Int, h: Int, w: Int, k: Int, kernel: (Int, Int),
        stride: (Int, Int) = (1, 1), pad: (Int, Int) = (0, 0),
        outPad: (Int, Int) = (0, 0), dil: (Int, Int) = (1, 1), groups: Int = 1
    ) -> ck_conv_transpose2d_params {
        var p = ck_conv_transpose2d_params()
        (p.n, p.c, p.h, p.w, p.k) = (Int32(n), Int32(c), Int32(h), Int32(w), Int32(k))
        (p.kh, p.kw) = (Int32(kernel.0), Int32(kernel.1))
        (p.stride_h, p.stride_w) = (Int32(stride.0), Int32(stride.1))
        (p.pad_h, p.pad_w) = (Int32(pad.0), Int32(pad.1))
        (p.out_pad_h, p.out_pad_w) = (Int32(outPad.0), Int32(outPad.1))
        (p.dil_h, p.dil_w) = (Int32(dil.0), Int32(dil.1))
        p.groups = Int32(groups)
        return p
    }

    /// Every pass of one configuration: fast at 1 and 2 threads (bitwise
    /// equal) against the naive reference.
    private func checkAllPasses(
        _ params: ck_conv_transpose2d_params, bias hasBias: Bool,
        rng: inout ConvKernelRNG, file: StaticString = #filePath, line: UInt = #line
    ) {
        var p = params
        let (n, c, h, w, k) = (Int(p.n), Int(p.c), Int(p.h), Int(p.w), Int(p.k))
        let xCount = n * c * h * w
        let wCount = c * (k / Int(p.groups)) * Int(p.kh) * Int(p.kw)
        let yCount = n * k * Int(p.out_h) * Int(p.out_w)
        let x = rng.floats(xCount), wt = rng.floats(wCount), dy = rng.floats(yCount)
        let bias: [Float]? = hasBias ? rng.floats(k) : nil
        let tag = "conv_transpose2d \(p)"

        let y = Check.atOneAndTwoThreads("\(tag) forward", file: file, line: line) {
            var y = [Float](repeating: .nan, count: yCount)
            Check.withOptional(bias) { ck_conv_transpose2d_forward_f32(&p, x, wt, $0, &y) }
            return y
        }
        var yRef = [Float](repeating: .nan, count: yCount)
        Check.withOptional(bias) { ck_conv_transpose2d_forward_f32_ref(&p, x, wt, $0, &yRef) }
        Check.assertClose(y, yRef, "\(tag) forward", file: file, line: line)

        let dx = Check.atOneAndTwoThreads("\(tag) backward_data", file: file, line: line) {
            var dx = [Float](repeating: .nan, count: xCount)
            ck_conv_transpose2d_backward_data_f32(&p, dy, wt, &dx)
            return dx
        }
        var dxRef = [Float](repeating: .nan, count: xCount)
        ck_conv_transpose2d_backward_data_f32_ref(&p, dy, wt, &dxRef)
        Check.assertClose(dx, dxRef, "\(tag) backward_data", file: file, line: line)

        let dw = Check.atOneAndTwoThreads("\(tag) backward_weight", file: file, line: line) {
            var dw = [Float](repeating: .nan, count: wCount)
            ck_conv_transpose2d_backward_weight_f32(&p, x, dy, &dw)
            return dw
        }
        var dwRef = [Float](repeating: .nan, count: wCount)
        ck_conv_transpose2d_backward_weight_f32_ref(&p, x, dy, &dwRef)
        Check.assertClose(dw, dwRef, "\(tag) backward_weight", file: file, line: line)

        let db = Check.atOneAndTwoThreads("\(tag) backward_bias", file: file, line: line) {
            var db = [Float](repeating: .nan, count: k)
            ck_conv_transpose2d_backward_bias_f32(&p, dy, &db)
            return db
        }
        var dbRef = [Float](repeating: .nan, count: k)
        ck_conv_transpose2d_backward_bias_f32_ref(&p, dy, &dbRef)
        Check.assertClose(db, dbRef, "\(tag) backward_bias", file: file, line: line)
    }

    func testRandomConfigurationsMatchReference() {
        var rng = ConvKernelRNG(seed: 0x7A05_E2D)
        var ran = 0
        while ran < 40 {
            let groups = rng.pick([1, 1, 2, 4])
            let c = groups * rng.int(1...3)
            var p = params(
                n: rng.int(1...9), c: c, h: rng.int(1...8), w: rng.int(1...8),
                k: rng.int(0...3) == 0 ? c : groups * rng.int(1...3),
                kernel: (rng.int(1...4), rng.int(1...4)),
                stride: (rng.int(1...3), rng.int(1...3)), pad: (rng.int(0...2), rng.int(0...2)),
                outPad: (rng.int(0...2), rng.int(0...2)), dil: (rng.int(1...2), rng.int(1...2)),
                groups: groups)
            guard ck_conv_transpose2d_check(&p, nil, 0) == 0 else { continue }
            ran += 1
            checkAllPasses(p, bias: rng.int(0...1) == 1, rng: &rng)
        }
    }

    func testCommonShapes() {
        var rng = ConvKernelRNG(seed: 11)
        let cases = [
            // The usual 2x upsampling: 4x4 kernel, stride 2, pad 1.
            params(n: 3, c: 4, h: 5, w: 6, k: 3, kernel: (4, 4), stride: (2, 2), pad: (1, 1)),
            // 3x3 stride 2 pad 1 with output padding restores an even size.
            params(
                n: 2, c: 2, h: 4, w: 4, k: 2, kernel: (3, 3), stride: (2, 2), pad: (1, 1),
                outPad: (1, 1)),
            // Output padding allowed by dilation alone (stride 1).
            params(n: 2, c: 3, h: 4, w: 3, k: 2, kernel: (2, 2), outPad: (1, 1), dil: (2, 2)),
            // 1x1 stride 1: a plain GEMM; depthwise; a single image.
            params(n: 4, c: 6, h: 3, w: 5, k: 4, kernel: (1, 1), groups: 2),
            params(n: 5, c: 4, h: 6, w: 6, k: 4, kernel: (3, 3), pad: (1, 1), groups: 4),
            params(n: 1, c: 3, h: 7, w: 5, k: 2, kernel: (3, 2), stride: (2, 3))
        ]
        for var p in cases {
            XCTAssertEqual(ck_conv_transpose2d_check(&p, nil, 0), 0)
            checkAllPasses(p, bias: true, rng: &rng)
        }
    }

    func testLargerShapesUseEveryParallelPath() {
        // Big enough to fork (see ConvKernelTests for the paths).
        var rng = ConvKernelRNG(seed: 13)
        let cases = [
            params(n: 1, c: 16, h: 24, w: 24, k: 16, kernel: (3, 3), pad: (1, 1)),
            // 3x3 stride 1 with 16+ channels and 64+ tiles: the forward is
            // the Winograd data gradient of its conv, with the bias added
            // on the way out -- by the flipped conv (padding 1), or by the
            // adjoint of the conv's forward (padding 0: 24x24 outputs fill
            // their tiles, the 26x26 result would fill 86%).
            params(n: 2, c: 16, h: 24, w: 24, k: 16, kernel: (3, 3), pad: (1, 1)),
            params(n: 2, c: 16, h: 24, w: 24, k: 20, kernel: (3, 3)),
            params(
                n: 9, c: 8, h: 12, w: 12, k: 8, kernel: (3, 3), stride: (2, 2), pad: (1, 1),
                outPad: (1, 1), groups: 2),
            params(n: 13, c: 6, h: 10, w: 10, k: 4, kernel: (4, 4), stride: (2, 2), pad: (1, 1))
        ]
        for var p in cases {
            XCTAssertEqual(ck_conv_transpose2d_check(&p, nil, 0), 0)
            checkAllPasses(p, bias: true, rng: &rng)
        }
    }

    func testStrideTwoForwardAddsBandsInOrder() {
        // The forward pass is col2im of the GEMM's columns; with 64 output
        // channels 3x3 over 24x24 inputs they exceed a band, so the second
        // band of rows adds onto the output rows the first wrote. Output
        // widths 48 and 45 (col2im's odd last pixel).
        var rng = ConvKernelRNG(seed: 31)
        let cases = [
            params(
                n: 1, c: 8, h: 24, w: 24, k: 64, kernel: (3, 3), stride: (2, 2), pad: (1, 1),
                outPad: (1, 1)),
            params(n: 2, c: 6, h: 24, w: 23, k: 64, kernel: (3, 3), stride: (2, 2), pad: (1, 1))
        ]
        for var p in cases {
            XCTAssertEqual(ck_conv_transpose2d_check(&p, nil, 0), 0)
            checkAllPasses(p, bias: true, rng: &rng)
        }
    }

    func testCheckComputesOutputSize() {
        var p = params(
            n: 1, c: 1, h: 4, w: 5, k: 1, kernel: (3, 4), stride: (2, 3), pad: (1, 2),
            outPad: (1, 0), dil: (1, 2))
        XCTAssertEqual(ck_conv_transpose2d_check(&p, nil, 0), 0)
        // (4-1)*2 - 2 + 1*2 + 1 + 1 = 8; (5-1)*3 - 4 + 2*3 + 0 + 1 = 15.
        XCTAssertEqual([p.out_h, p.out_w], [8, 15])
    }

    func testCheckRejectsBadParameters() {
        let good = params(
            n: 2, c: 4, h: 5, w: 5, k: 6, kernel: (3, 3), stride: (2, 2), groups: 2)
        let bad: [(String, (inout ck_conv_transpose2d_params) -> Void)] = [
            ("sizes", { $0.w = 0 }),
            ("kernel", { $0.kh = 0 }),
            ("stride", { $0.stride_w = 0 }),
            ("dilation", { $0.dil_h = 0 }),
            ("padding", { $0.pad_w = -2 }),
            ("output padding must be >= 0", { $0.out_pad_h = -1 }),
            (
                "smaller than stride or dilation (out_pad_h=2, stride_h=2, dil_h=1)",
                { $0.out_pad_h = 2 }
            ),
            (
                "out_pad_w=1, stride_w=1, dil_w=1",
                {
                    $0.stride_w = 1
                    $0.out_pad_w = 1
                }
            ),
            ("groups", { $0.groups = 0 }),
            ("input channels c=4 not divisible by groups=3", { $0.groups = 3 }),
            ("output channels k=7 not divisible", { $0.k = 7 }),
            (
                "output height",
                {
                    $0.h = 1
                    $0.kh = 1
                    $0.pad_h = 1
                }
            )
        ]
        for (expected, mutate) in bad {
            var p = good
            mutate(&p)
            let (status, text) = Check.message { ck_conv_transpose2d_check(&p, $0, $1) }
            XCTAssertEqual(status, -1, expected)
            XCTAssertTrue(text.hasPrefix("conv_transpose2d: "), text)
            XCTAssertTrue(text.contains(expected), "\(text) lacks \(expected)")
        }
    }
}
