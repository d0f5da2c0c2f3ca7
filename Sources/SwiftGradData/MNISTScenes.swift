/// Where one digit sits in an `MNISTScenes` canvas.
public struct DigitPlacement: Sendable, Equatable {
    /// Position of the digit in the source `ImageClassificationSet`.
    public var exampleIndex: Int
    /// The digit's class in the source set (the pixel label is `class + 1`).
    public var digitClass: Int32
    /// Canvas row of the digit image's top edge.
    public var top: Int
    /// Canvas column of the digit image's left edge.
    public var left: Int
}

/// Synthetic semantic segmentation from MNIST digits: 1-3 digits placed
/// without overlap on a larger black canvas (default 64x84).
///
/// Labels are `[H, W]` with 0 for background and `1 + class` where a digit's
/// byte exceeds `threshold`, so MNIST gives 11 classes. The default threshold
/// 127 (intensity > 0.5) labels the stroke core; the faint anti-aliased rim
/// stays background, as it is ambiguous even to a person. Digits' ink boxes
/// (bytes > 0) never overlap; a digit that finds no free spot in 50 tries is
/// left out, so crowded canvases may hold fewer digits than drawn.
public struct MNISTScenes: SegmentationDataset {
    /// The digits drawn from (e.g. `mnist.train`), images `[N, h, w]`.
    public let digits: ImageClassificationSet
    /// Number of scenes N.
    public let count: Int
    /// Canvas height H (at least the digits' height).
    public let height: Int
    /// Canvas width W (at least the digits' width).
    public let width: Int
    /// Digits per scene, drawn uniformly from this range.
    public let digitsPerScene: ClosedRange<Int>
    /// A digit byte above this is labelled as the digit.
    public let threshold: UInt8
    /// Seed of the whole dataset.
    public let seed: UInt64
    /// Background plus one class per digit class (11 for MNIST).
    public var numClasses: Int { digits.numClasses + 1 }

    /// Creates the dataset description; scenes are composed on demand.
    public init(
        digits: ImageClassificationSet, count: Int, height: Int = 64, width: Int = 84,
        digitsPerScene: ClosedRange<Int> = 1...3, threshold: UInt8 = 127, seed: UInt64 = 0
    ) {
        precondition(digits.count > 0, "MNISTScenes: no digits to draw from")
        precondition(height >= digits.rows && width >= digits.cols, "MNISTScenes: canvas \(height)x\(width) smaller than a digit")
        precondition(digitsPerScene.lowerBound >= 0, "MNISTScenes: digitsPerScene must not be negative")
        self.digits = digits
        self.count = count
        self.height = height
        self.width = width
        self.digitsPerScene = digitsPerScene
        self.threshold = threshold
        self.seed = seed
    }

    /// The digits of scene `index` with their canvas positions, in drawing order.
    public func placements(at index: Int) -> [DigitPlacement] {
        var rng = SplitMix64(seed: seed, stream: UInt64(index))
        var placed: [DigitPlacement] = []
        var boxes: [InkBox] = []
        for _ in 0..<rng.uniform(in: digitsPerScene) {
            let example = rng.uniform(below: digits.count)
            guard let ink = inkBox(of: example) else { continue }  // a blank image adds nothing
            for _ in 0..<50 {
                let top = rng.uniform(below: height - digits.rows + 1)
                let left = rng.uniform(below: width - digits.cols + 1)
                let box = ink.offset(top: top, left: left)
                if boxes.allSatisfy({ !$0.intersects(box) }) {
                    boxes.append(box)
                    placed.append(
                        DigitPlacement(exampleIndex: example, digitClass: digits.labels[example], top: top, left: left))
                    break
                }
            }
        }
        return placed
    }

    /// Scene `index`: image `[H, W]` (bytes / 255) and labels `[H, W]` (0...10).
    public func sample(at index: Int) -> SegmentationSample {
        var sample = SegmentationSample(height: height, width: width)
        for placement in placements(at: index) {
            let pixels = digits.image(at: placement.exampleIndex)
            let base = pixels.startIndex
            for r in 0..<digits.rows {
                for c in 0..<digits.cols {
                    let byte = pixels[base + r * digits.cols + c]
                    let k = (placement.top + r) * width + placement.left + c
                    sample.image[k] = max(sample.image[k], Float(byte) / 255)
                    if byte > threshold { sample.labels[k] = placement.digitClass + 1 }
                }
            }
        }
        return sample
    }

    /// Tight bounds of a digit's nonzero bytes, or nil for a blank image.
    private func inkBox(of example: Int) -> InkBox? {
        let pixels = digits.image(at: example)
        var box: InkBox?
        for r in 0..<digits.rows {
            for c in 0..<digits.cols where pixels[pixels.startIndex + r * digits.cols + c] > 0 {
                box =
                    box.map { InkBox(top: min($0.top, r), left: min($0.left, c), bottom: max($0.bottom, r), right: max($0.right, c)) }
                    ?? InkBox(top: r, left: c, bottom: r, right: c)
            }
        }
        return box
    }
}

/// An inclusive pixel rectangle.
private struct InkBox {
    var top, left, bottom, right: Int

    func offset(top dy: Int, left dx: Int) -> InkBox {
        InkBox(top: top + dy, left: left + dx, bottom: bottom + dy, right: right + dx)
    }

    func intersects(_ other: InkBox) -> Bool {
        top <= other.bottom && other.top <= bottom && left <= other.right && other.left <= right
    }
}
