import CKernels

extension Tensor {
    /// Splits the shape around `axis` into (outer, axis, inner) extents.
    func split(at axis: Int) -> (Int, Int, Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// The sum of every element, as a scalar tensor.
    public func sum() -> Tensor {
        reshaped(to: [count]).sum(alongAxes: [0])
    }

    /// The mean of every element, as a scalar tensor.
    public func mean() -> Tensor {
        sum() / Float(Swift.max(count, 1))
    }

    /// Sums along the given axes. With `keepingDims` the reduced axes stay
    /// with extent 1, otherwise they are removed.
    public func sum(alongAxes axes: [Int], keepingDims: Bool = false) -> Tensor {
        let normalized = Set(axes.map { Tensor.axis($0, rank: rank, op: "sum") })
        var result = self
        // Reduce one axis at a time, innermost-first, always keeping dims.
        for a in normalized.sorted(by: >) {
            result = result.sumKeepingAxis(a)
        }
        if !keepingDims {
            result = result.reshaped(to: shape.enumerated().filter { !normalized.contains($0.offset) }.map { $0.element })
        }
        return result
    }

    /// Sums along one axis.
    public func sum(alongAxis axis: Int, keepingDims: Bool = false) -> Tensor {
        sum(alongAxes: [axis], keepingDims: keepingDims)
    }

    private func sumKeepingAxis(_ a: Int) -> Tensor {
        let (outer, n, inner) = split(at: a)
        var newShape = shape
        newShape[a] = 1
        let out = Tensor(uninitializedShape: newShape)
        ck_sum_axis_f32(Int64(outer), Int64(n), Int64(inner), pointer, out.pointer)
        let source = shape
        return Tensor.record(out, inputs: [self]) { g in [g.broadcast(to: source)] }
    }

    /// Means along the given axes.
    public func mean(alongAxes axes: [Int], keepingDims: Bool = false) -> Tensor {
        let n = axes.map { shape[Tensor.axis($0, rank: rank, op: "mean")] }.reduce(1, *)
        return sum(alongAxes: axes, keepingDims: keepingDims) / Float(Swift.max(n, 1))
    }

    /// Means along one axis.
    public func mean(alongAxis axis: Int, keepingDims: Bool = false) -> Tensor {
        mean(alongAxes: [axis], keepingDims: keepingDims)
    }

    /// The maximum along `axis`; the gradient goes to the first maximum.
    public func max(alongAxis axis: Int, keepingDims: Bool = false) -> Tensor {
        let a = Tensor.axis(axis, rank: rank, op: "max")
        let (outer, n, inner) = split(at: a)
        precondition(n > 0, "max: empty axis \(axis) in shape \(shape)")
        var newShape = shape
        newShape[a] = 1
        let out = Tensor(uninitializedShape: newShape)
        var argmaxIndices = [Int64](repeating: 0, count: outer * inner)
        ck_max_axis_f32(Int64(outer), Int64(n), Int64(inner), pointer, out.pointer, &argmaxIndices)
        let source = shape
        var result = Tensor.record(out, inputs: [self]) { g in
            let dx = Tensor.zeros(source)
            for o in 0..<outer {
                for i in 0..<inner {
                    dx.pointer[(o * n + Int(argmaxIndices[o * inner + i])) * inner + i] = g.pointer[o * inner + i]
                }
            }
            return [dx]
        }
        if !keepingDims { result = result.squeezed(axis: a) }
        return result
    }

    /// The maximum of every element, as a scalar tensor.
    public func max() -> Tensor {
        reshaped(to: [count]).max(alongAxis: 0)
    }

    /// Indices of the first maximum along `axis` (axis removed), as floats.
    public func argmax(alongAxis axis: Int) -> Tensor {
        let a = Tensor.axis(axis, rank: rank, op: "argmax")
        let (outer, n, inner) = split(at: a)
        var newShape = shape
        newShape.remove(at: a)
        let values = Tensor(uninitializedShape: newShape)
        var argmaxIndices = [Int64](repeating: 0, count: outer * inner)
        ck_max_axis_f32(Int64(outer), Int64(n), Int64(inner), pointer, values.pointer, &argmaxIndices)
        return Tensor(shape: newShape, scalars: argmaxIndices.map { Float($0) })
    }

    /// Indices of the first maximum along `axis`, as integers.
    public func argmaxIndices(alongAxis axis: Int) -> [Int] {
        argmax(alongAxis: axis).scalars.map { Int($0) }
    }
}
