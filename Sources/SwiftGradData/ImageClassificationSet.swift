/// A split of a single-channel image classification dataset held as bytes.
///
/// Images stay `UInt8` (one byte per pixel, 0 = black, 255 = white) until a
/// batch is formed; see `batched(_:dropRemainder:normalization:)`.
public struct ImageClassificationSet: Sendable {
    /// Number of examples N.
    public let count: Int
    /// Image height H in pixels (28 for MNIST).
    public let rows: Int
    /// Image width W in pixels (28 for MNIST).
    public let cols: Int
    /// Number of classes C; every label lies in `[0, C)`.
    public let numClasses: Int
    /// Pixels of all images, row-major `[N, H, W]`: `count * rows * cols` bytes.
    public let images: [UInt8]
    /// Class index of each example, shape `[N]`, values in `[0, numClasses)`.
    public let labels: [Int32]

    /// Creates a split from bytes `[N, H, W]` and labels `[N]`.
    ///
    /// Sizes and label ranges are preconditions here (in-memory data is the
    /// caller's); file loaders validate and throw before calling this.
    public init(rows: Int, cols: Int, images: [UInt8], labels: [Int32], numClasses: Int) {
        precondition(rows > 0 && cols > 0, "ImageClassificationSet: rows \(rows) and cols \(cols) must be positive")
        precondition(
            images.count == labels.count * rows * cols,
            "ImageClassificationSet: \(images.count) pixel bytes for \(labels.count) images of \(rows)x\(cols)")
        precondition(
            labels.allSatisfy { $0 >= 0 && Int($0) < numClasses },
            "ImageClassificationSet: labels must lie in [0, \(numClasses))")
        self.count = labels.count
        self.rows = rows
        self.cols = cols
        self.numClasses = numClasses
        self.images = images
        self.labels = labels
    }

    /// Pixels per image, `rows * cols`.
    public var pixelsPerImage: Int { rows * cols }

    /// The bytes of image `index`, row-major `[H, W]` (`rows * cols` bytes).
    public func image(at index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "ImageClassificationSet: index \(index) out of 0..<\(count)")
        let start = index * pixelsPerImage
        return images[start..<(start + pixelsPerImage)]
    }

    /// The class of example `index`.
    public func label(at index: Int) -> Int { Int(labels[index]) }

    /// Number of examples of each class, shape `[numClasses]`.
    public func classHistogram() -> [Int] {
        var histogram = [Int](repeating: 0, count: numClasses)
        for label in labels { histogram[Int(label)] += 1 }
        return histogram
    }

    /// A new split holding the examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageClassificationSet {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(indices.count * pixelsPerImage)
        for i in indices { pixels.append(contentsOf: image(at: i)) }
        return ImageClassificationSet(
            rows: rows, cols: cols, images: pixels, labels: indices.map { labels[$0] }, numClasses: numClasses)
    }

    /// The first `n` examples (all if `n >= count`), e.g. for quick runs.
    public func prefix(_ n: Int) -> ImageClassificationSet {
        subset(Array(0..<min(max(n, 0), count)))
    }

    /// Every image transposed (`[H, W]` -> `[W, H]`); EMNIST stores its
    /// images transposed relative to MNIST.
    public func transposed() -> ImageClassificationSet {
        var pixels = [UInt8](repeating: 0, count: images.count)
        let (h, w) = (rows, cols)
        images.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for n in 0..<count {
                    let base = n * h * w
                    for r in 0..<h {
                        for c in 0..<w { dst[base + c * h + r] = src[base + r * w + c] }
                    }
                }
            }
        }
        return ImageClassificationSet(rows: w, cols: h, images: pixels, labels: labels, numClasses: numClasses)
    }
}
