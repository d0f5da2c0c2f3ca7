import CKernels

/// NumPy broadcasting rules; a mismatch is a programmer error.
public func broadcastShape(_ a: [Int], _ b: [Int], op: String = "broadcast") -> [Int] {
    requireShape { try ShapeRules.broadcast(a, b, op: op) }
}

/// Row-major strides of `shape` laid into `target` (0 on broadcast axes).
func broadcastStrides(of shape: [Int], into target: [Int]) -> [Int64] {
    var strides = [Int64](repeating: 0, count: target.count)
    var step: Int64 = 1
    let offset = target.count - shape.count
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i + offset] = shape[i] == 1 ? 0 : step
        step *= Int64(shape[i])
    }
    return strides
}

/// Row-major (contiguous) strides of a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}

extension Tensor {
    /// Sums this tensor (of a broadcast shape) down to `shape`, the inverse of
    /// broadcasting; used by the pullbacks of broadcasting ops.
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(target.count <= rank, "sumToShape: cannot reduce \(shape) to \(target)")
        var out = Tensor.zeros(target)
        let dims = shape.map { Int64($0) }
        let strides = broadcastStrides(of: target, into: shape)
        precondition(rank <= Int(CK_MAX_RANK), "sumToShape: rank \(rank) above \(CK_MAX_RANK)")
        out.withUnsafeMutableBufferPointer { o in
            ck_reduce_to_f32(Int32(rank), dims, pointer, strides, o.baseAddress)
        }
        return out
    }

    /// This tensor expanded (by copying) to a broadcast-compatible `target`.
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(
            broadcastShape(shape, target, op: "broadcast(to:)") == target, "broadcast(to:): \(shape) does not broadcast to \(target)")
        let out = Tensor(uninitializedShape: target)
        let dims = target.map { Int64($0) }
        let strides = broadcastStrides(of: shape, into: target)
        ck_gather_strided_f32(Int32(target.count), dims, pointer, strides, out.pointer)
        let source = shape
        return Tensor.record(out, inputs: [self]) { g in [g.sumToShape(source)] }
    }
}
