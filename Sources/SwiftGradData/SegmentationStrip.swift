import SwiftGrad

/// Colours for class labels: class `k` is drawn in `colors[k % colors.count]`.
public struct ClassPalette: Sendable, Equatable {
    /// RGB triples; index 0 is background.
    public var colors: [[UInt8]]

    /// Creates a palette from RGB triples (each exactly 3 bytes, at least one).
    public init(colors: [[UInt8]]) {
        precondition(!colors.isEmpty && colors.allSatisfy { $0.count == 3 }, "ClassPalette: need RGB triples")
        self.colors = colors
    }

    /// Black background and 15 well-separated colours (enough for the 11
    /// classes of `MNISTScenes` and the 4 of `ShapesDataset`).
    public static let standard = ClassPalette(colors: [
        [0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
        [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60],
        [250, 190, 212], [0, 128, 128], [170, 110, 40], [255, 250, 200], [128, 0, 0], [170, 255, 195]
    ])

    /// The colour of class `label` (negative labels get the background colour).
    public func color(of label: Int32) -> [UInt8] {
        label < 0 ? colors[0] : colors[Int(label) % colors.count]
    }
}

/// Composes `input | ground truth | prediction` panels side by side, one
/// row per example, into an RGB `PNGImage`.
///
/// The input is drawn in gray (stretched to its own min...max when
/// `stretchInput`), the label maps in palette colours, with `gap` white
/// pixels between panels and rows.
public struct SegmentationStrip: Sendable {
    /// Colours of the label panels.
    public var palette: ClassPalette
    /// Width of the white separators, in pixels.
    public var gap: Int
    /// Whether each input image is stretched to the full gray range
    /// (normalized inputs may lie outside `[0, 1]`); else it is clamped.
    public var stretchInput: Bool

    /// Creates a composer.
    public init(palette: ClassPalette = .standard, gap: Int = 2, stretchInput: Bool = true) {
        precondition(gap >= 0, "SegmentationStrip: gap must not be negative")
        self.palette = palette
        self.gap = gap
        self.stretchInput = stretchInput
    }

    /// Renders N rows: `images` `[N * H * W]` intensities, `truth` and
    /// `prediction` `[N * H * W]` class indices.
    public func render(height: Int, width: Int, images: [Float], truth: [Int32], prediction: [Int32]) -> PNGImage {
        let plane = height * width
        precondition(plane > 0 && images.count % plane == 0, "SegmentationStrip: \(images.count) pixels is not N x \(height) x \(width)")
        let n = images.count / plane
        precondition(truth.count == n * plane && prediction.count == n * plane, "SegmentationStrip: label maps must match images")
        let outWidth = 3 * width + 2 * gap
        let outHeight = n * height + max(0, n - 1) * gap
        var pixels = [UInt8](repeating: 255, count: outWidth * outHeight * 3)
        for i in 0..<n {
            let gray = grayLevels(Array(images[(i * plane)..<((i + 1) * plane)]))
            for r in 0..<height {
                let rowStart = ((i * (height + gap)) + r) * outWidth
                for c in 0..<width {
                    let k = i * plane + r * width + c
                    let g = gray[r * width + c]
                    put([g, g, g], at: (rowStart + c) * 3, in: &pixels)
                    put(palette.color(of: truth[k]), at: (rowStart + width + gap + c) * 3, in: &pixels)
                    put(palette.color(of: prediction[k]), at: (rowStart + 2 * (width + gap) + c) * 3, in: &pixels)
                }
            }
        }
        return PNGImage(width: outWidth, height: outHeight, colorType: .rgb, pixels: pixels)
    }

    /// Renders from tensors: `images` `[N, 1, H, W]`, `truth` `[N, H, W]`
    /// (Float class indices), `prediction` either `[N, H, W]` class indices
    /// or logits `[N, C, H, W]` (reduced by argmax over C).
    public func render(images: Tensor, truth: Tensor, prediction: Tensor) -> PNGImage {
        let shape = images.shape
        precondition(shape.count == 4 && shape[1] == 1, "SegmentationStrip: images must be [N, 1, H, W], got \(shape)")
        let (n, h, w) = (shape[0], shape[2], shape[3])
        precondition(truth.shape == [n, h, w], "SegmentationStrip: truth must be [N, H, W] = \([n, h, w]), got \(truth.shape)")
        let predicted: [Int32]
        if prediction.shape == [n, h, w] {
            predicted = prediction.scalars.map { Int32($0.rounded()) }
        } else {
            precondition(
                prediction.shape.count == 4 && prediction.shape[0] == n && Array(prediction.shape[2...]) == [h, w],
                "SegmentationStrip: prediction must be [N, H, W] or [N, C, H, W], got \(prediction.shape)")
            predicted = argmaxOverChannels(prediction.scalars, n: n, c: prediction.shape[1], plane: h * w)
        }
        return render(
            height: h, width: w, images: images.scalars,
            truth: truth.scalars.map { Int32($0.rounded()) }, prediction: predicted)
    }

    /// Renders and writes the strip to `path` atomically.
    public func write(to path: String, images: Tensor, truth: Tensor, prediction: Tensor) throws {
        try render(images: images, truth: truth, prediction: prediction).write(to: path)
    }

    private func grayLevels(_ values: [Float]) -> [UInt8] {
        let finite = values.filter(\.isFinite)
        guard stretchInput, let lo = finite.min(), let hi = finite.max(), hi > lo else {
            return values.map(PNGImage.byte)
        }
        return values.map { PNGImage.byte(($0 - lo) / (hi - lo)) }
    }

    private func put(_ rgb: [UInt8], at offset: Int, in pixels: inout [UInt8]) {
        pixels[offset] = rgb[0]
        pixels[offset + 1] = rgb[1]
        pixels[offset + 2] = rgb[2]
    }
}

/// Class indices `[N, H, W]` from scores `[N, C, H, W]` (the first maximum wins).
public func argmaxOverChannels(_ scores: [Float], n: Int, c: Int, plane: Int) -> [Int32] {
    precondition(scores.count == n * c * plane && c > 0, "argmaxOverChannels: \(scores.count) scores is not \(n)x\(c)x\(plane)")
    var out = [Int32](repeating: 0, count: n * plane)
    for i in 0..<n {
        for p in 0..<plane {
            var best = scores[i * c * plane + p]
            for k in 1..<max(c, 1) where scores[(i * c + k) * plane + p] > best {
                best = scores[(i * c + k) * plane + p]
                out[i * plane + p] = Int32(k)
            }
        }
    }
    return out
}
