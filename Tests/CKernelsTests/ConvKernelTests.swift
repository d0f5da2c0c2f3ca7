import CKernels
import XCTest

/// SplitMix64: a tiny seeded generator, so every run draws the same cases.
struct ConvKernelRNG {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...choices.count - 1)] }

    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    mutating func floats(_ count: Int) -> [Float] { (0..<count).map { _ in float() } }
}

/// Shared checks for the convolution and pooling kernel tests.
enum ConvKernelCheck {
    /// Runs `body` at 1 and at 2 threads, asserts the two results are
    /// bitwise identical, and returns the 1-thread result.
    static func atOneAndTwoThreads(
        _ what: String, file: StaticString = #filePath, line: UInt = #line,
        _ body: () -> [Float]
    ) -> [Float] {
        let saved = ck_get_num_threads()
        defer { ck_set_num_threads(saved) }
        ck_set_num_threads(1)
        let one = body()
        ck_set_num_threads(2)
        let two = body()
        XCTAssertTrue(
            one.elementsEqual(two) { $0.bitPattern == $1.bitPattern },
            "\(what): results at 1 and 2 threads differ", file: file, line: line)
        return one
    }

    /// max |got - ref| <= 1e-4 * max(1, max |ref|).
    static func assertClose(
        _ got: [Float], _ ref: [Float], _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(got.count, ref.count, what, file: file, line: line)
        var maxDiff: Float = 0
        var maxRef: Float = 1
        for (g, r) in zip(got, ref) {
            let d = abs(g - r)
            if !(d <= maxDiff) { maxDiff = d.isNaN ? .infinity : d }
            maxRef = max(maxRef, abs(r))
        }
        XCTAssertLessThanOrEqual(
            maxDiff, 1e-4 * maxRef, "\(what): max abs diff \(maxDiff)", file: file,
            line: line)
    }

    /// Calls `body` with a pointer to `values`, or nil.
    static func withOptional<R>(
        _ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R
    ) -> R {
        guard let values else { return body(nil) }
        return values.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// The status and message of a `ck_*_check` call.
    static func message(
        _ call: (UnsafeMutablePointer<CChar>, Int) -> Int32
    ) -> (status: Int32, text: String) {
        var buffer = [CChar](repeating: 0, count: 256)
        let status = buffer.withUnsafeMutableBufferPointer {
            call($0.baseAddress!, $0.count)
        }
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (status, text)
    }
}

final class ConvKernelTests: XCTestCase {
    private typealias Check = ConvKernelCheck

    private func params(
        n: Int, c: Int, h: Int, w: Int, k: Int, kernel: (Int, Int),
        stride: (Int, Int) = (1, 1), pad: (Int, Int) = (0, 0), dil: (Int, Int) = (1, 1),
        groups: Int = 1
    ) -> ck_conv2d_params {
        var p = ck_conv2d_params()
        (p.n, p.c, p.h, p.w, p.k) = (Int32(n), Int32(c), Int32(h), Int32(w), Int32(k))
        (p.kh, p.kw) = (Int32(kernel.0), Int32(kernel.1))
        (p.stride_h, p.stride_w) = (Int32(stride.0), Int32(stride.1))
        (p.pad_h, p.pad_w) = (Int32(pad.0), Int32(pad.1))
        (p.dil_h, p.dil_w) = (Int32(dil.0), Int32(dil.1))
        p.groups = Int32(groups)
        return p
    }

    /// Every pass of one configuration: fast at 1 and 2 threads (bitwise
    /// equal) against the naive reference.
    private func checkAllPasses(
        _ params: ck_conv2d_params, bias hasBias: Bool, rng: inout ConvKernelRNG,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var p = params
        let (n, c, h, w, k) = (Int(p.n), Int(p.c), Int(p.h), Int(p.w), Int(p.k))
        let xCount = n * c * h * w
        let wCount = k * (c / Int(p.groups)) * Int(p.kh) * Int(p.kw)
        let yCount = n * k * Int(p.out_h) * Int(p.out_w)
        let x = rng.floats(xCount), wt = rng.floats(wCount), dy = rng.floats(yCount)
        let bias: [Float]? = hasBias ? rng.floats(k) : nil
        let tag = "conv2d \(p)"

        let y = Check.atOneAndTwoThreads("\(tag) forward", file: file, line: line) {
            var y = [Float](repeating: .nan, count: yCount)
            Check.withOptional(bias) { ck_conv2d_forward_f32(&p, x, wt, $0, &y) }
            return y
        }
        var yRef = [Float](repeating: .nan, count: yCount)
        Check.withOptional(bias) { ck_conv2d_forward_f32_ref(&p, x, wt, $0, &yRef) }
        Check.assertClose(y, yRef, "\(tag) forward", file: file, line: line)

        let dx = Check.atOneAndTwoThreads("\(tag) backward_data", file: file, line: line) {
            var dx = [Float](repeating: .nan, count: xCount)
            ck_conv2d_backward_data_f32(&p, dy, wt, &dx)
            return dx
        }
        var dxRef = [Float](repeating: .nan, count: xCount)
        ck_conv2d_backward_data_f32_ref(&p, dy, wt, &dxRef)
        Check.assertClose(dx, dxRef, "\(tag) backward_data", file: file, line: line)

        let dw = Check.atOneAndTwoThreads("\(tag) backward_weight", file: file, line: line) {
            var dw = [Float](repeating: .nan, count: wCount)
            ck_conv2d_backward_weight_f32(&p, x, dy, &dw)
            return dw
        }
        var dwRef = [Float](repeating: .nan, count: wCount)
        ck_conv2d_backward_weight_f32_ref(&p, x, dy, &dwRef)
        Check.assertClose(dw, dwRef, "\(tag) backward_weight", file: file, line: line)

        let db = Check.atOneAndTwoThreads("\(tag) backward_bias", file: file, line: line) {
            var db = [Float](repeating: .nan, count: k)
            ck_conv2d_backward_bias_f32(&p, dy, &db)
            return db
        }
        var dbRef = [Float](repeating: .nan, count: k)
        ck_conv2d_backward_bias_f32_ref(&p, dy, &dbRef)
        Check.assertClose(db, dbRef, "\(tag) backward_bias", file: file, line: line)
    }

    /// Every pass of each case (with bias), then the cases at alsoGeneric
    /// again with the baseline x86-64 kernels forced (where the CPU has
    /// better ones).
    private func checkCases(
        _ cases: [ck_conv2d_params], alsoGeneric: [Int], rng: inout ConvKernelRNG,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for var p in cases {
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0, file: file, line: line)
            checkAllPasses(p, bias: true, rng: &rng, file: file, line: line)
        }
        let saved = String(cString: ck_isa_name())
        guard ck_force_isa("generic") == 0 else { return }
        defer { _ = ck_force_isa(saved) }
        for i in alsoGeneric {
            var p = cases[i]
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0, file: file, line: line)
            checkAllPasses(p, bias: true, rng: &rng, file: file, line: line)
        }
    }

    func testRandomConfigurationsMatchReference() {
        var rng = ConvKernelRNG(seed: 0x00C0_4E12)
        var ran = 0
        while ran < 40 {
            let groups = rng.pick([1, 1, 2, 4])
            let depthwise = rng.int(0...3) == 0
            let c = groups * rng.int(1...3)
            var p = params(
                n: rng.int(1...9), c: c, h: rng.int(1...11), w: rng.int(1...11),
                k: depthwise ? c : groups * rng.int(1...3),
                kernel: (rng.int(1...4), rng.int(1...4)),
                stride: (rng.int(1...3), rng.int(1...3)), pad: (rng.int(0...2), rng.int(0...2)),
                dil: (rng.int(1...2), rng.int(1...2)), groups: groups)
            guard ck_conv2d_check(&p, nil, 0) == 0 else { continue }
            ran += 1
            checkAllPasses(p, bias: rng.int(0...1) == 1, rng: &rng)
        }
    }

    func testPointwiseAndDepthwiseShapes() {
        var rng = ConvKernelRNG(seed: 7)
        let cases = [
            // 1x1 stride 1 pad 0 skips im2col.
            params(n: 3, c: 5, h: 7, w: 6, k: 4, kernel: (1, 1)),
            params(n: 2, c: 4, h: 5, w: 5, k: 6, kernel: (1, 1), groups: 2),
            // 1x1 with stride or padding still lowers.
            params(n: 2, c: 3, h: 7, w: 7, k: 2, kernel: (1, 1), stride: (2, 2)),
            params(n: 1, c: 2, h: 3, w: 4, k: 3, kernel: (1, 1), pad: (1, 0)),
            // Depthwise 3x3, and a single image at 2 threads (parallel inside).
            params(n: 5, c: 4, h: 9, w: 8, k: 4, kernel: (3, 3), pad: (1, 1), groups: 4),
            params(n: 1, c: 3, h: 12, w: 10, k: 5, kernel: (3, 3), pad: (1, 1)),
            // Kernel as large as the padded input: a 1x1 output.
            params(n: 2, c: 2, h: 3, w: 3, k: 2, kernel: (5, 5), pad: (1, 1))
        ]
        for var p in cases {
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
            checkAllPasses(p, bias: true, rng: &rng)
        }
    }

    func testLargerShapesUseEveryParallelPath() {
        // Big enough to fork: whole rounds of images in parallel, leftover
        // images with threads inside (n = 1, 3), and weight-gradient blocks
        // in parallel waves plus a leftover block (n = 9, 13).
        var rng = ConvKernelRNG(seed: 5)
        let cases = [
            params(n: 1, c: 16, h: 24, w: 24, k: 16, kernel: (3, 3), pad: (1, 1)),
            params(n: 3, c: 8, h: 20, w: 17, k: 12, kernel: (3, 3), pad: (1, 1)),
            params(
                n: 9, c: 8, h: 16, w: 16, k: 8, kernel: (3, 3), stride: (2, 2), pad: (1, 1),
                groups: 2),
            params(
                n: 5, c: 8, h: 16, w: 16, k: 8, kernel: (3, 3), pad: (2, 2), dil: (2, 2),
                groups: 8),
            params(n: 1, c: 64, h: 16, w: 16, k: 64, kernel: (1, 1)),
            params(n: 13, c: 4, h: 12, w: 12, k: 6, kernel: (5, 5), pad: (2, 2))
        ]
        for var p in cases {
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
            checkAllPasses(p, bias: true, rng: &rng)
        }
    }

    func testSmallInnerSizeUsesDirectKernels() {
        // c*kh*kw <= 16 (conv_small.c): one input channel 3x3 like MNIST's
        // first layer, strips of 32 pixels with a moved-back last strip,
        // rows shorter than a strip, a 1-tap kernel, and strides/padding.
        var rng = ConvKernelRNG(seed: 11)
        let cases = [
            params(n: 9, c: 1, h: 28, w: 28, k: 32, kernel: (3, 3)),
            params(n: 3, c: 1, h: 7, w: 5, k: 3, kernel: (3, 3)),
            params(n: 2, c: 1, h: 11, w: 13, k: 4, kernel: (4, 4), stride: (2, 1), pad: (1, 2)),
            params(n: 5, c: 2, h: 9, w: 10, k: 5, kernel: (2, 3), pad: (1, 1), dil: (2, 1)),
            params(n: 4, c: 16, h: 6, w: 6, k: 4, kernel: (1, 1), pad: (1, 0)),
            params(n: 2, c: 2, h: 12, w: 12, k: 6, kernel: (3, 3), pad: (1, 1), groups: 2)
        ]
        // cases 0 and 2 again on the baseline x86-64 variant.
        checkCases(cases, alsoGeneric: [0, 2], rng: &rng)
    }

    func testSmallImagesMultiplyInBlocksOfImages() {
        // Whole images fit a band: blocks of images side by side in one
        // GEMM (MNIST's second and third layers), with a short last block,
        // groups, and weight-gradient blocks in waves plus a leftover.
        var rng = ConvKernelRNG(seed: 13)
        let cases = [
            params(n: 37, c: 32, h: 13, w: 13, k: 16, kernel: (3, 3)),
            params(n: 61, c: 24, h: 5, w: 5, k: 8, kernel: (3, 3)),
            params(
                n: 23, c: 8, h: 7, w: 6, k: 6, kernel: (3, 3), stride: (2, 1), pad: (1, 1),
                groups: 2),
            params(n: 6, c: 6, h: 4, w: 4, k: 3, kernel: (3, 3), pad: (1, 1))
        ]
        for var p in cases {
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
            checkAllPasses(p, bias: true, rng: &rng)
        }
    }

    func testStrideTwoDataGradientAddsBandsInOrder() {
        // The data gradient of a stride-2 conv by the GEMM and col2im, whose
        // columns (c*kh*kw x oh*ow) exceed a band: two bands of output rows,
        // the second added onto the image rows the first wrote, over even and
        // odd image widths (col2im's two-phase gather and its odd last pixel),
        // the second case again on the baseline x86-64 variant.
        var rng = ConvKernelRNG(seed: 29)
        let cases = [
            params(n: 1, c: 64, h: 48, w: 48, k: 8, kernel: (3, 3), stride: (2, 2), pad: (1, 1)),
            params(n: 2, c: 64, h: 47, w: 45, k: 6, kernel: (3, 3), stride: (2, 2), pad: (1, 1))
        ]
        for var p in cases {
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
            XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 1)), "gemm", "\(p)")
        }
        checkCases(cases, alsoGeneric: [1], rng: &rng)
    }

    func testShiftedWindowPath() {
        // conv_shift.c (strides 1 and 2, groups 1, c*kh*kw > 16): bands of rows of
        // large images (more than 512 output positions, uneven last band),
        // blocks of small images with a short last block, panels crossing
        // rows and images (widths 1, 3, 11, 17), dilation, asymmetric
        // kernels and padding, padding above the kernel's reach (data
        // gradient by scatter), many channels of 1x1 outputs
        // (blocks bounded by buffer size), large weight gradients split by
        // rows of taps, and the baseline x86-64 ISA.
        var rng = ConvKernelRNG(seed: 17)
        let cases = [
            params(n: 2, c: 5, h: 40, w: 37, k: 7, kernel: (3, 3), pad: (1, 1)),
            params(n: 1, c: 3, h: 70, w: 9, k: 13, kernel: (3, 2), pad: (1, 0)),
            params(n: 41, c: 32, h: 13, w: 13, k: 12, kernel: (3, 3)),
            params(n: 29, c: 6, h: 3, w: 1, k: 5, kernel: (3, 1), pad: (1, 0)),
            params(n: 7, c: 4, h: 9, w: 17, k: 9, kernel: (3, 3), pad: (2, 2), dil: (2, 2)),
            params(n: 5, c: 3, h: 8, w: 5, k: 4, kernel: (2, 4), pad: (0, 3)),
            params(n: 3, c: 9, h: 6, w: 6, k: 6, kernel: (1, 3), pad: (3, 0)),
            params(n: 9, c: 300, h: 3, w: 3, k: 8, kernel: (3, 3)),
            // Stride 2 (even columns of twice as many), and mixed strides.
            params(n: 3, c: 6, h: 45, w: 46, k: 10, kernel: (3, 3), stride: (2, 2), pad: (1, 1)),
            params(n: 17, c: 8, h: 9, w: 7, k: 5, kernel: (3, 3), stride: (2, 2)),
            params(
                n: 4, c: 5, h: 12, w: 21, k: 7, kernel: (2, 3), stride: (1, 2), pad: (1, 1),
                dil: (1, 2)),
            params(n: 4, c: 5, h: 21, w: 12, k: 7, kernel: (3, 2), stride: (2, 1), pad: (0, 1)),
            // Weight gradients above 2^17 floats split by rows of taps
            // (channels of the rows' taps only are padded).
            params(n: 3, c: 130, h: 6, w: 5, k: 150, kernel: (3, 3), pad: (1, 1)),
            params(n: 2, c: 120, h: 9, w: 8, k: 140, kernel: (3, 3), stride: (2, 2))
        ]
        checkCases(cases, alsoGeneric: [0, 2, 4, 8, 10], rng: &rng)
    }

    func testWinogradPath() {
        // conv_winograd.c, F(4x4, 3x3): partial tiles on the right and
        // bottom (22x27, 11x11, 13x13 and 3x3 outputs), padding 0, 1 and 2 (the data
        // gradient pads by 2 - padding), tasks that split one image into
        // bands and tasks that span several images, 96 to 80 channels, and
        // the baseline x86-64 ISA. The weight gradient: small images
        // copied an image at a time, and a large one (130x66) read in
        // place with its border tiles clipped. Each case must take the
        // Winograd path for the passes named.
        var rng = ConvKernelRNG(seed: 43)
        let cases: [(ck_conv2d_params, forward: Bool, data: Bool)] = [
            (params(n: 5, c: 19, h: 22, w: 27, k: 17, kernel: (3, 3), pad: (1, 1)), true, true),
            (params(n: 40, c: 16, h: 13, w: 13, k: 24, kernel: (3, 3)), true, true),
            // 3x3 outputs fill 56% of a tile, 5x5 from 3x3 39% of four:
            // the data gradient runs as the adjoint of the forward's tiles
            // (also 13x13 and 22x27 above: valid convs on small images).
            (params(n: 64, c: 16, h: 5, w: 5, k: 24, kernel: (3, 3)), true, true),
            // Too few tiles (12 of the output, 27 of the input; 32 is the
            // least): no Winograd pass.
            (params(n: 3, c: 16, h: 10, w: 10, k: 24, kernel: (3, 3)), false, false),
            // 32 output tiles, just enough.
            (params(n: 2, c: 32, h: 16, w: 16, k: 16, kernel: (3, 3), pad: (1, 1)), true, true),
            (params(n: 2, c: 24, h: 34, w: 30, k: 16, kernel: (3, 3), pad: (2, 2)), true, true),
            (params(n: 1, c: 16, h: 130, w: 66, k: 16, kernel: (3, 3), pad: (1, 1)), true, true),
            (params(n: 3, c: 96, h: 20, w: 20, k: 80, kernel: (3, 3), pad: (1, 1)), true, true),
            (params(n: 4, c: 20, h: 19, w: 23, k: 18, kernel: (3, 3), pad: (0, 1)), true, true),
            // Tasks of four 8x8 images whose padded rows of all 64
            // channels would crowd L2: copied a channel at a time, each
            // just before its transform (forward and data gradient).
            (params(n: 8, c: 64, h: 8, w: 8, k: 64, kernel: (3, 3), pad: (1, 1)), true, true)
        ]
        for (params, forward, data) in cases {
            var p = params
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
            XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 0)) == "winograd", forward, "\(p)")
            XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 1)) == "winograd", data, "\(p)")
            // The weight gradient takes it wherever the forward does.
            XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 2)) == "winograd", forward, "\(p)")
        }
        checkCases(cases.map(\.0), alsoGeneric: [0, 1, 4, 9], rng: &rng)
    }

    func testWinogradCanBeSwitchedOff() {
        // Off, the same conv is a direct sum (and still matches the
        // reference); back on, Winograd again.
        var p = params(n: 4, c: 32, h: 24, w: 24, k: 32, kernel: (3, 3), pad: (1, 1))
        XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
        XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 0)), "winograd")
        ck_set_winograd(0)
        defer { ck_set_winograd(1) }
        XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 0)), "shifted-window")
        XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 1)), "shifted-window")
        XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 2)), "shifted-window")
        var rng = ConvKernelRNG(seed: 44)
        checkAllPasses(p, bias: true, rng: &rng)
    }

    func testForwardWithReLUAndItsBackward() {
        // ck_conv2d_forward_relu_f32: ReLU inside Winograd's output pass, or
        // a pass after the other algorithms; either way bit for bit ReLU of
        // the plain forward, at 1 and 2 threads. Then the fused ReLU
        // backward + bias sum against the two unfused kernels.
        var rng = ConvKernelRNG(seed: 57)
        for (p, algorithm) in [
            (params(n: 8, c: 32, h: 13, w: 13, k: 24, kernel: (3, 3)), "winograd"),  // partial tiles
            (params(n: 3, c: 16, h: 20, w: 20, k: 16, kernel: (3, 3), pad: (1, 1)), "winograd"),
            (params(n: 2, c: 3, h: 9, w: 11, k: 5, kernel: (3, 3), pad: (1, 1)), "shifted-window"),
            (params(n: 4, c: 16, h: 7, w: 7, k: 8, kernel: (1, 1)), "gemm")
        ] {
            var p = p
            XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
            XCTAssertEqual(String(cString: ck_conv2d_algorithm(&p, 0)), algorithm, "\(p)")
            let (n, k, plane) = (Int(p.n), Int(p.k), Int(p.out_h * p.out_w))
            let x = rng.floats(Int(p.n * p.c * p.h * p.w)), w = rng.floats(k * Int(p.c * p.kh * p.kw))
            let bias = rng.floats(k)
            var plain = [Float](repeating: .nan, count: n * k * plane)
            ck_conv2d_forward_f32(&p, x, w, bias, &plain)
            let tag = "conv2d relu \(String(cString: ck_conv2d_algorithm(&p, 0))) \(p)"
            let y = Check.atOneAndTwoThreads(tag) {
                var y = [Float](repeating: .nan, count: n * k * plane)
                ck_conv2d_forward_relu_f32(&p, x, w, bias, 1, &y)
                return y
            }
            XCTAssertEqual(y.map(\.bitPattern), plain.map { ($0 > 0 ? $0 : 0).bitPattern }, tag)
            XCTAssertTrue(y.contains(0) && y.contains { $0 > 0 }, tag)

            let dy = rng.floats(y.count)
            var dxRef = [Float](repeating: .nan, count: y.count)
            var dbRef = [Float](repeating: .nan, count: k)
            ck_relu_backward_f32(Int64(y.count), y, dy, &dxRef)
            ck_conv2d_backward_bias_f32(&p, dxRef, &dbRef)
            let both = Check.atOneAndTwoThreads("\(tag) backward") {
                var dx = [Float](repeating: .nan, count: y.count)
                var db = [Float](repeating: .nan, count: k)
                ck_relu_backward_bias_f32(p.n, p.k, Int64(plane), y, dy, &dx, &db)
                return dx + db
            }
            XCTAssertEqual(both.map(\.bitPattern), (dxRef + dbRef).map(\.bitPattern), "\(tag) backward")
            var dxOnly = [Float](repeating: .nan, count: y.count)
            ck_relu_backward_bias_f32(p.n, p.k, Int64(plane), y, dy, &dxOnly, nil)
            XCTAssertEqual(dxOnly.map(\.bitPattern), dxRef.map(\.bitPattern), "\(tag) backward without db")
        }
    }

    func testForwardKnownValues() {
        // Worked by hand: a 2x2 all-ones kernel sums each 2x2 window of
        // [[1, 2, 3], [4, 5, 6], [7, 8, 9]]; then bias 0.5.
        var p = params(n: 1, c: 1, h: 3, w: 3, k: 1, kernel: (2, 2))
        XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
        XCTAssertEqual([p.out_h, p.out_w], [2, 2])
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let w: [Float] = [1, 1, 1, 1]
        let bias: [Float] = [0.5]
        var y = [Float](repeating: 0, count: 4)
        ck_conv2d_forward_f32(&p, x, w, bias, &y)
        XCTAssertEqual(y, [12.5, 16.5, 24.5, 28.5])
    }

    func testCheckComputesOutputSize() {
        var p = params(
            n: 1, c: 1, h: 10, w: 9, k: 1, kernel: (3, 2), stride: (2, 3), pad: (1, 2),
            dil: (2, 1))
        XCTAssertEqual(ck_conv2d_check(&p, nil, 0), 0)
        // (10 + 2 - 2*2 - 1) / 2 + 1 = 4; (9 + 4 - 1 - 1) / 3 + 1 = 4.
        XCTAssertEqual([p.out_h, p.out_w], [4, 4])
    }

    func testCheckRejectsBadParameters() {
        let good = params(n: 2, c: 4, h: 5, w: 5, k: 6, kernel: (3, 3), groups: 2)
        let bad: [(String, (inout ck_conv2d_params) -> Void)] = [
            ("sizes", { $0.n = 0 }),
            ("sizes", { $0.c = -1 }),
            ("kernel", { $0.kw = 0 }),
            ("stride", { $0.stride_h = 0 }),
            ("dilation", { $0.dil_w = 0 }),
            ("padding", { $0.pad_h = -1 }),
            ("groups", { $0.groups = 0 }),
            ("input channels c=4 not divisible by groups=3", { $0.groups = 3 }),
            ("output channels k=5 not divisible", { $0.k = 5 }),
            (
                "output height 0 < 1 (h=3, kh=5",
                {
                    $0.h = 3
                    $0.kh = 5
                }
            ),
            (
                "output width",
                {
                    $0.kw = 4
                    $0.dil_w = 2
                }
            )
        ]
        for (expected, mutate) in bad {
            var p = good
            mutate(&p)
            let (status, text) = Check.message { ck_conv2d_check(&p, $0, $1) }
            XCTAssertEqual(status, -1, expected)
            XCTAssertTrue(text.hasPrefix("conv2d: "), text)
            XCTAssertTrue(text.contains(expected), "\(text) lacks \(expected)")
        }
        // A NULL message buffer is allowed.
        var p = good
        p.groups = 3
        XCTAssertEqual(ck_conv2d_check(&p, nil, 0), -1)
    }
}
