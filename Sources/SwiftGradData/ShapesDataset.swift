/// A shape drawn by `ShapesDataset`, in pixel coordinates (x right, y down).
public struct Shape: Sendable, Equatable {
    /// The kind of a shape; its raw value is its class label.
    public enum Kind: Int32, Sendable, CaseIterable {
        /// A filled disc; label 1.
        case circle = 1
        /// A filled axis-aligned rectangle; label 2.
        case rectangle = 2
        /// A filled isosceles triangle pointing up, down, left or right; label 3.
        case triangle = 3
    }

    /// What is drawn; also the label of the pixels it covers.
    public var kind: Kind
    /// Centre x.
    public var centerX: Float
    /// Centre y.
    public var centerY: Float
    /// Half-width (the radius for a circle).
    public var halfWidth: Float
    /// Half-height (equal to `halfWidth` for a circle).
    public var halfHeight: Float
    /// Triangle apex direction: 0 up, 1 down, 2 left, 3 right (unused otherwise).
    public var orientation: Int
    /// Gray level of the shape's pixels before noise.
    public var intensity: Float

    /// Whether the point `(x, y)` (a pixel centre is `(col + 0.5, row + 0.5)`)
    /// lies inside the shape. Pure arithmetic, so labels match on every machine.
    public func contains(x: Float, y: Float) -> Bool {
        let dx = x - centerX
        let dy = y - centerY
        switch kind {
        case .circle:
            return dx * dx + dy * dy <= halfWidth * halfWidth
        case .rectangle:
            return abs(dx) <= halfWidth && abs(dy) <= halfHeight
        case .triangle:
            // Rotate into the apex-up frame: u across, v along the axis from apex (-1) to base (+1).
            let (u, v): (Float, Float)
            switch orientation {
            case 0: (u, v) = (dx / halfWidth, dy / halfHeight)
            case 1: (u, v) = (dx / halfWidth, -dy / halfHeight)
            case 2: (u, v) = (dy / halfHeight, dx / halfWidth)
            default: (u, v) = (dy / halfHeight, -dx / halfWidth)
            }
            return v <= 1 && abs(u) * 2 <= v + 1
        }
    }
}

/// Synthetic segmentation: gray images with Gaussian noise holding random
/// circles, rectangles and triangles.
///
/// Images are `[H, W]` (default 64x64, one channel); labels per pixel are
/// 0 background, 1 circle, 2 rectangle, 3 triangle. Shapes may overlap;
/// later shapes are drawn on top and own the pixels they cover. Example `i`
/// depends only on `(seed, i)`; its labels are bit-identical on every machine
/// (the noise uses libm and may differ in the last bit).
public struct ShapesDataset: SegmentationDataset {
    /// Number of examples N.
    public let count: Int
    /// Image height H.
    public let height: Int
    /// Image width W.
    public let width: Int
    /// Four classes: background, circle, rectangle, triangle.
    public var numClasses: Int { 4 }
    /// Seed of the whole dataset.
    public let seed: UInt64
    /// Number of shapes per image, drawn uniformly from this range.
    public let shapesPerImage: ClosedRange<Int>
    /// Half-size of a shape as a fraction of `min(H, W)`, uniform in this range.
    public let sizeFraction: ClosedRange<Float>
    /// Standard deviation of the additive Gaussian noise (pixels are clamped to `[0, 1]`).
    public let noiseStd: Float

    /// Creates the dataset description; samples are generated on demand.
    /// - Parameters:
    ///   - count: number of examples N.
    ///   - height, width: image size (default 64x64).
    ///   - shapesPerImage: how many shapes each image holds (default 1...4).
    ///   - sizeFraction: half-size relative to `min(H, W)` (default 0.08...0.2).
    ///   - noiseStd: Gaussian noise level (default 0.05; 0 for clean images).
    public init(
        count: Int, height: Int = 64, width: Int = 64, seed: UInt64 = 0,
        shapesPerImage: ClosedRange<Int> = 1...4, sizeFraction: ClosedRange<Float> = 0.08...0.2, noiseStd: Float = 0.05
    ) {
        precondition(count >= 0 && height >= 4 && width >= 4, "ShapesDataset: need count >= 0 and size >= 4x4")
        precondition(shapesPerImage.lowerBound >= 0, "ShapesDataset: shapesPerImage must not be negative")
        precondition(sizeFraction.lowerBound > 0 && sizeFraction.upperBound <= 0.5, "ShapesDataset: sizeFraction must lie in (0, 0.5]")
        precondition(noiseStd >= 0, "ShapesDataset: noiseStd must not be negative")
        self.count = count
        self.height = height
        self.width = width
        self.seed = seed
        self.shapesPerImage = shapesPerImage
        self.sizeFraction = sizeFraction
        self.noiseStd = noiseStd
    }

    /// The background level and the shapes of example `index`, in drawing order.
    public func layout(at index: Int) -> (background: Float, shapes: [Shape]) {
        var rng = SplitMix64(seed: seed, stream: UInt64(index))
        let background = rng.uniform(0, 0.3)
        let side = Float(min(height, width))
        var shapes: [Shape] = []
        for _ in 0..<rng.uniform(in: shapesPerImage) {
            let kind = Shape.Kind.allCases[rng.uniform(below: 3)]
            let halfWidth = side * rng.uniform(sizeFraction.lowerBound, sizeFraction.upperBound)
            let halfHeight = kind == .circle ? halfWidth : side * rng.uniform(sizeFraction.lowerBound, sizeFraction.upperBound)
            // Keep centres inside the image so most of each shape is visible.
            let centerX = rng.uniform(0, 1) * Float(width)
            let centerY = rng.uniform(0, 1) * Float(height)
            shapes.append(
                Shape(
                    kind: kind, centerX: centerX, centerY: centerY, halfWidth: halfWidth, halfHeight: halfHeight,
                    orientation: rng.uniform(below: 4), intensity: rng.uniform(0.6, 1.0)))
        }
        return (background, shapes)
    }

    /// Example `index`: noisy image `[H, W]` and labels `[H, W]` (0...3).
    public func sample(at index: Int) -> SegmentationSample {
        let (background, shapes) = layout(at: index)
        var sample = SegmentationSample(height: height, width: width, fill: background)
        for shape in shapes {
            // Scan only the shape's bounding box.
            let reach = max(shape.halfWidth, shape.halfHeight)
            let rows = max(0, Int(shape.centerY - reach) - 1)...min(height - 1, Int(shape.centerY + reach) + 1)
            let cols = max(0, Int(shape.centerX - reach) - 1)...min(width - 1, Int(shape.centerX + reach) + 1)
            for r in rows {
                for c in cols where shape.contains(x: Float(c) + 0.5, y: Float(r) + 0.5) {
                    sample.image[r * width + c] = shape.intensity
                    sample.labels[r * width + c] = shape.kind.rawValue
                }
            }
        }
        if noiseStd > 0 {
            // A separate stream, so noise never shifts the layout's random draws.
            var noise = SplitMix64(seed: seed ^ 0x6E6F_6973_65, stream: UInt64(index))
            for k in 0..<sample.image.count {
                sample.image[k] = min(1, max(0, sample.image[k] + noiseStd * noise.normal()))
            }
        }
        return sample
    }
}
