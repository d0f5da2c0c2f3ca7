import Foundation

/// A dense, row-major, float32 tensor of any rank with value semantics.
///
/// Copies share one buffer until one of them is written to (copy-on-write).
/// While a gradient is being computed (see `valueWithGradient(at:in:)`),
/// tensors derived from the differentiated inputs carry a tape reference so
/// that ops on them are recorded.
public struct Tensor: Sendable {
    /// The extent of each axis; `[]` for a scalar.
    public let shape: [Int]
    @usableFromInline var storage: TensorStorage
    @usableFromInline var tracking: Tracking?

    @usableFromInline
    init(shape: [Int], storage: TensorStorage, tracking: Tracking? = nil) {
        self.shape = shape
        self.storage = storage
        self.tracking = tracking
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { storage.count }

    /// A tensor whose contents are undefined, from the buffer pool.

    public init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *)))
    }

    /// A tensor with the given shape and elements in row-major order.
    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        let n = shape.reduce(1, *)
        precondition(
            scalars.count == n,
            "Tensor(shape:scalars:): \(scalars.count) scalars for shape \(shape) (\(n) expected)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: n) }
    }

    /// A rank-1 tensor holding `scalars`.
    public init(_ scalars: [Float]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// A rank-0 tensor holding `value`.
    public init(_ value: Float) {
        self.init(shape: [], scalars: [value])
    }

    /// A tensor of the given shape with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitializedShape: shape)
        storage.pointer.update(repeating: value, count: count)
    }

    /// Zeros of the given shape.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    /// Ones of the given shape.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }
    /// A tensor of the given shape filled with `value`.
    public static func filled(_ shape: [Int], with value: Float) -> Tensor {
        Tensor(repeating: value, shape: shape)
    }
    /// Zeros shaped like `other`.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape) }

    /// The elements in row-major order (a copy).
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: tensor of shape \(shape) has \(count) elements")
        return storage.pointer[0]
    }

    /// Reads the element at a full multi-index.
    public subscript(indices: Int...) -> Float {
        storage.pointer[flatIndex(indices)]
    }

    func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == rank, "Tensor subscript: \(indices.count) indices for shape \(shape)")
        var flat = 0
        for (i, (ix, dim)) in zip(indices, shape).enumerated() {
            precondition(ix >= 0 && ix < dim, "Tensor subscript: index \(ix) out of range for axis \(i) of shape \(shape)")
            flat = flat * dim + ix
        }
        return flat
    }

    /// Calls `body` with the elements, read-only.

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Calls `body` with mutable elements, copying the buffer first if shared.
    /// Writing through this pointer is not recorded for differentiation.

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Raw read pointer for kernels; valid while `self` is alive.
    @usableFromInline var pointer: UnsafeMutablePointer<Float> { storage.pointer }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = scalars.prefix(16).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(values)\(count > 16 ? ", …" : "")])"
    }
}

extension Tensor {
    /// True when both tensors have the same shape and every pair of elements
    /// differs by at most `atol + rtol * |b|`.
    public func isAlmostEqual(to other: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4) -> Bool {
        guard shape == other.shape else { return false }
        return withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                for i in 0..<a.count where !(Swift.abs(a[i] - b[i]) <= atol + rtol * Swift.abs(b[i])) {
                    return false
                }
                return true
            }
        }
    }
}
