import SwiftGrad

/// Per-pixel normalization applied after scaling bytes to `[0, 1]`:
/// `x = (byte / 255 - mean) / std`.
public struct Normalization: Sendable, Equatable {
    /// Subtracted from every scaled pixel.
    public var mean: Float
    /// Divides every centred pixel; must be positive.
    public var std: Float

    /// Creates a normalization; `std` must be positive.
    public init(mean: Float, std: Float) {
        precondition(std > 0, "Normalization: std \(std) must be positive")
        self.mean = mean
        self.std = std
    }

    /// MNIST training-set statistics (mean 0.1307, std 0.3081), the values
    /// torchvision's MNIST examples use.
    public static let mnist = Normalization(mean: 0.1307, std: 0.3081)
}

/// A batch before conversion to tensors: Float pixels and Int32 labels.
/// Needs nothing from SwiftGrad; `Batch` wraps it in tensors.
public struct RawBatch: Sendable, Equatable {
    /// Image height H.
    public var rows: Int
    /// Image width W.
    public var cols: Int
    /// Pixels, row-major `[N, 1, H, W]`, in `[0, 1]` unless normalized.
    public var pixels: [Float]
    /// Class indices, shape `[N]`.
    public var labels: [Int32]
    /// Positions of these examples in their source split, shape `[N]`.
    public var indices: [Int]

    /// Number of examples N.
    public var count: Int { labels.count }
}

/// A training batch: images `[N, 1, H, W]` and class labels `[N]`.
public struct Batch: Sendable {
    /// Images as a tensor of shape `[N, 1, H, W]`, pixel values in `[0, 1]`
    /// (or normalized when the pipeline was given a `Normalization`).
    public let images: Tensor
    /// Class index of each example, shape `[N]`.
    public let labels: [Int32]
    /// Positions of these examples in their source split, shape `[N]`.
    public let indices: [Int]

    /// Wraps a raw batch; the image tensor is built here (on the prefetch
    /// thread when the pipeline is prefetched).
    public init(_ raw: RawBatch) {
        images = Tensor(shape: [raw.count, 1, raw.rows, raw.cols], scalars: raw.pixels)
        labels = raw.labels
        indices = raw.indices
    }

    /// Number of examples N.
    public var count: Int { labels.count }

    /// The labels as a Float-valued tensor of class indices, shape `[N]`.
    public var labelTensor: Tensor {
        Tensor(shape: [labels.count], scalars: labels.map { Float($0) })
    }

    /// One-hot labels, shape `[N, numClasses]`.
    public func oneHotLabels(numClasses: Int) -> Tensor {
        var scalars = [Float](repeating: 0, count: labels.count * numClasses)
        for (n, label) in labels.enumerated() {
            precondition(label >= 0 && Int(label) < numClasses, "Batch.oneHotLabels: label \(label) outside [0, \(numClasses))")
            scalars[n * numClasses + Int(label)] = 1
        }
        return Tensor(shape: [labels.count, numClasses], scalars: scalars)
    }
}

extension ImageClassificationSet {
    /// The examples at `indices` as Float pixels `[N, 1, H, W]` and labels `[N]`.
    public func rawBatch(indices: [Int], normalization: Normalization? = nil) -> RawBatch {
        let p = pixelsPerImage
        var pixels = [Float](repeating: 0, count: indices.count * p)
        // A 256-entry table keeps byte 255 exactly 1.0 and costs one load per pixel.
        let table = (0..<256).map { byte -> Float in
            let x = Float(byte) / 255
            guard let normalization else { return x }
            return (x - normalization.mean) / normalization.std
        }
        images.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                table.withUnsafeBufferPointer { lut in
                    for (n, index) in indices.enumerated() {
                        precondition(index >= 0 && index < count, "rawBatch: index \(index) out of 0..<\(count)")
                        let (from, to) = (index * p, n * p)
                        for k in 0..<p { dst[to + k] = lut[Int(src[from + k])] }
                    }
                }
            }
        }
        return RawBatch(rows: rows, cols: cols, pixels: pixels, labels: indices.map { labels[$0] }, indices: indices)
    }

    /// The examples at `indices` as a `Batch` (images `[N, 1, H, W]`, labels `[N]`).
    public func batch(indices: [Int], normalization: Normalization? = nil) -> Batch {
        Batch(rawBatch(indices: indices, normalization: normalization))
    }
}
