/// A shape mismatch found by an op's shape rule. Ops treat a mismatch as a
/// programmer error and stop with this message; the throwing shape rules are
/// public so callers (layers validating configs, tests) can check first.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Runs a shape rule; a mismatch stops the program with the rule's message.
func requireShape<T>(_ rule: () throws -> T) -> T {
    do { return try rule() } catch { preconditionFailure("\(error)") }
}

public enum ShapeRules {
    /// NumPy broadcasting: shapes align at the right, each pair of extents
    /// equal or one of them 1.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String = "broadcast") throws -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw ShapeError("\(op): shapes \(a) and \(b) cannot be broadcast together")
            }
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// The result shape of `matmul`, see `matmul(_:_:transposeA:transposeB:)`.
    public static func matmul(_ a: [Int], _ b: [Int], transposeA: Bool = false, transposeB: Bool = false) throws -> [Int] {
        guard (a.count == 2 || a.count == 3) && (b.count == 2 || b.count == 3) && b.count <= a.count else {
            throw ShapeError("matmul: unsupported ranks \(a) x \(b)")
        }
        if b.count == 3 && b[0] != a[0] {
            throw ShapeError("matmul: batch sizes differ in \(a) x \(b)")
        }
        let (am, ak) = (a[a.count - 2], a[a.count - 1])
        let (bk, bn) = (b[b.count - 2], b[b.count - 1])
        let (m, k) = transposeA ? (ak, am) : (am, ak)
        let (k2, n) = transposeB ? (bn, bk) : (bk, bn)
        guard k == k2 else {
            throw ShapeError(
                "matmul: inner dimensions differ (\(k) vs \(k2)) in \(a)\(transposeA ? "ᵀ" : "") x \(b)\(transposeB ? "ᵀ" : "")")
        }
        return a.count == 3 ? [a[0], m, n] : [m, n]
    }

    /// The result shape of `reshaped(to:)`, resolving one -1.
    public static func reshape(_ shape: [Int], to newShape: [Int]) throws -> [Int] {
        let count = shape.reduce(1, *)
        var target = newShape
        let holes = newShape.indices.filter { newShape[$0] == -1 }
        guard holes.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw ShapeError("reshaped(to:): invalid target shape \(newShape)")
        }
        if let hole = holes.first {
            let known = newShape.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            guard known > 0, count % known == 0 else {
                throw ShapeError("reshaped(to:): cannot reshape \(shape) to \(newShape)")
            }
            target[hole] = count / known
        }
        guard target.reduce(1, *) == count else {
            throw ShapeError("reshaped(to:): cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        return target
    }

    /// The result shape of `Tensor.concatenate(_:axis:)`.
    public static func concatenate(_ shapes: [[Int]], axis: Int) throws -> [Int] {
        guard let first = shapes.first else { throw ShapeError("concatenate: no tensors") }
        let a = axis < 0 ? axis + first.count : axis
        guard a >= 0 && a < first.count else { throw ShapeError("concatenate: axis \(axis) out of range for rank \(first.count)") }
        var out = first
        out[a] = 0
        for s in shapes {
            guard s.count == first.count, s.indices.allSatisfy({ $0 == a || s[$0] == first[$0] }) else {
                throw ShapeError("concatenate: shapes \(first) and \(s) differ off axis \(axis)")
            }
            out[a] += s[a]
        }
        return out
    }
}
