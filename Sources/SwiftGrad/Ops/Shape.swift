import CKernels

extension Tensor {
    /// Normalizes a possibly negative axis for a tensor of rank `rank`.
    static func axis(_ axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(op): axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// The same elements with a new shape; one dimension may be -1 (inferred).
    public func reshaped(to newShape: [Int]) -> Tensor {
        let target = requireShape { try ShapeRules.reshape(shape, to: newShape) }
        let out = Tensor(shape: target, storage: storage)
        let source = shape
        return Tensor.record(out, inputs: [self]) { g in [g.reshaped(to: source)] }
    }

    /// Flattens all axes from `startAxis` on into one: [N, C, H, W] -> [N, C*H*W].
    public func flattened(startAxis: Int = 1) -> Tensor {
        let s = Tensor.axis(startAxis, rank: rank, op: "flattened")
        return reshaped(to: Array(shape[..<s]) + [shape[s...].reduce(1, *)])
    }

    /// Removes axes of extent 1 (all of them, or the one given).
    public func squeezed(axis: Int? = nil) -> Tensor {
        if let axis {
            let a = Tensor.axis(axis, rank: rank, op: "squeezed")
            precondition(shape[a] == 1, "squeezed: axis \(axis) of shape \(shape) is not 1")
            var s = shape
            s.remove(at: a)
            return reshaped(to: s)
        }
        return reshaped(to: shape.filter { $0 != 1 })
    }

    /// Inserts an axis of extent 1 at `axis` (which may equal the rank).
    public func expandingShape(at axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "expandingShape: axis \(axis) out of range for rank \(rank)")
        var s = shape
        s.insert(1, at: a)
        return reshaped(to: s)
    }

    /// Reorders axes: result axis i is this tensor's axis `permutation[i]`.
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "permuted: \(permutation) is not a permutation of the axes of \(shape)")
        if permutation == Array(0..<rank) { return self }
        let newShape = permutation.map { shape[$0] }
        let strides = contiguousStrides(shape)
        let out = Tensor(uninitializedShape: newShape)
        ck_gather_strided_f32(
            Int32(rank), newShape.map { Int64($0) }, pointer,
            permutation.map { Int64(strides[$0]) }, out.pointer)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return Tensor.record(out, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes (the last two by default).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var p = Array(0..<rank)
        p.swapAt(Tensor.axis(a, rank: rank, op: "transposed"), Tensor.axis(b, rank: rank, op: "transposed"))
        return permuted(p)
    }

    /// Elements `range` along `axis`, all of every other axis.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = Tensor.axis(axis, rank: rank, op: "slice")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[a],
            "slice: range \(range) out of bounds for axis \(axis) of shape \(shape)")
        var newShape = shape
        newShape[a] = range.count
        let outer = shape[..<a].reduce(1, *)
        let inner = shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: newShape)
        ck_copy_rows_f32(
            Int64(outer), Int64(range.count * inner), pointer + range.lowerBound * inner,
            Int64(shape[a] * inner), out.pointer, Int64(range.count * inner))
        let source = shape
        return Tensor.record(out, inputs: [self]) { g in
            // Pad the gradient back into a zero tensor of the source shape.
            let dx = Tensor.zeros(source)
            for o in 0..<outer {
                (dx.pointer + (o * source[a] + range.lowerBound) * inner).update(
                    from: g.pointer + o * range.count * inner, count: range.count * inner)
            }
            return [dx]
        }
    }

    /// Joins tensors along `axis`; all other extents must match.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors")
        let newShape = requireShape { try ShapeRules.concatenate(tensors.map(\.shape), axis: axis) }
        let first = tensors[0]
        let a = Tensor.axis(axis, rank: first.rank, op: "concatenate")
        let extents = tensors.map { $0.shape[a] }
        let outer = first.shape[..<a].reduce(1, *)
        let inner = first.shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: newShape)
        var offset = 0
        for (t, e) in zip(tensors, extents) {
            ck_copy_rows_f32(
                Int64(outer), Int64(e * inner), t.pointer, Int64(e * inner), out.pointer + offset,
                Int64(newShape[a] * inner))
            offset += e * inner
        }
        return record(out, inputs: tensors) { g in
            var start = 0
            return extents.map { e in
                defer { start += e }
                return withoutGradient { g.slice(axis: a, start..<(start + e)) }
            }
        }
    }
}
