import CKernels

/// Runs a broadcasting binary kernel; no recording.
func binaryKernel(_ op: ck_binary_op, _ a: Tensor, _ b: Tensor, name: String) -> Tensor {
    let shape = broadcastShape(a.shape, b.shape, op: name)
    precondition(shape.count <= Int(CK_MAX_RANK), "\(name): rank \(shape.count) above \(CK_MAX_RANK)")
    let out = Tensor(uninitializedShape: shape)
    let dims = shape.map { Int64($0) }
    ck_binary_f32(
        op, Int32(shape.count), dims,
        a.pointer, broadcastStrides(of: a.shape, into: shape),
        b.pointer, broadcastStrides(of: b.shape, into: shape), out.pointer)
    return out
}

extension Tensor {
    /// Element-wise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = binaryKernel(CK_ADD, a, b, name: "add")
        let (sa, sb) = (a.shape, b.shape)
        return record(out, inputs: [a, b]) { g in [g.sumToShape(sa), g.sumToShape(sb)] }
    }

    /// Element-wise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = binaryKernel(CK_SUB, a, b, name: "subtract")
        let (sa, sb) = (a.shape, b.shape)
        return record(out, inputs: [a, b]) { g in [g.sumToShape(sa), (-g).sumToShape(sb)] }
    }

    /// Element-wise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = binaryKernel(CK_MUL, a, b, name: "multiply")
        return record(out, inputs: [a, b]) { g in
            [(g * b.detached).sumToShape(a.shape), (g * a.detached).sumToShape(b.shape)]
        }
    }

    /// Element-wise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = binaryKernel(CK_DIV, a, b, name: "divide")
        return record(out, inputs: [a, b]) { g in
            let bd = b.detached
            return [(g / bd).sumToShape(a.shape), (-(g * out.detached) / bd).sumToShape(b.shape)]
        }
    }

    /// Element-wise negation.
    public static prefix func - (x: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        ck_unary_f32(CK_NEG, Int64(x.count), x.pointer, out.pointer)
        return record(out, inputs: [x]) { g in [-g] }
    }

    // Scalar forms: the scalar is a constant.
    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    public static func / (s: Float, a: Tensor) -> Tensor { Tensor(s) / a }

    /// `x * scale + shift`, element-wise.
    public func affine(scale: Float, shift: Float) -> Tensor {
        var out = Tensor(uninitializedShape: shape)
        let n = count
        withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n { dst[i] = src[i] * scale + shift }
            }
        }
        return Tensor.record(out, inputs: [self]) { g in [g * scale] }
    }

    /// `self ** exponent` element-wise, with broadcasting.
    public func pow(_ exponent: Tensor) -> Tensor {
        let out = binaryKernel(CK_POW, self, exponent, name: "pow")
        let base = self.detached, e = exponent.detached
        return Tensor.record(out, inputs: [self, exponent]) { g in
            let dBase = g * e * base.pow(e - 1)
            // d/de a^e = a^e ln a; defined where a > 0.
            let dExp = g * out.detached * base.log()
            return [dBase.sumToShape(base.shape), dExp.sumToShape(e.shape)]
        }
    }

    /// `self ** exponent` element-wise for a constant exponent.
    public func pow(_ exponent: Float) -> Tensor {
        let out = binaryKernel(CK_POW, self, Tensor(exponent), name: "pow")
        let base = self.detached
        return Tensor.record(out, inputs: [self]) { g in
            [g * (base.pow(exponent - 1) * exponent)]
        }
    }

    /// Element-wise maximum with broadcasting; ties send the gradient to `self`.
    public func maximum(_ other: Tensor) -> Tensor {
        let out = binaryKernel(CK_MAX, self, other, name: "maximum")
        let a = self.detached, b = other.detached
        return Tensor.record(out, inputs: [self, other]) { g in
            let mask = a.greaterEqualMask(b)
            return [(g * mask).sumToShape(a.shape), (g * (1 - mask)).sumToShape(b.shape)]
        }
    }

    /// Element-wise minimum with broadcasting; ties send the gradient to `self`.
    public func minimum(_ other: Tensor) -> Tensor {
        let out = binaryKernel(CK_MIN, self, other, name: "minimum")
        let a = self.detached, b = other.detached
        return Tensor.record(out, inputs: [self, other]) { g in
            let mask = b.greaterEqualMask(a)  // 1 where a <= b
            return [(g * mask).sumToShape(a.shape), (g * (1 - mask)).sumToShape(b.shape)]
        }
    }

    /// 1 where `self >= other` (broadcast), else 0. Not differentiable.
    public func greaterEqualMask(_ other: Tensor) -> Tensor {
        let shape = broadcastShape(self.shape, other.shape, op: "greaterEqualMask")
        let a = broadcastValues(to: shape), b = other.broadcastValues(to: shape)
        var out = Tensor(uninitializedShape: shape)
        let n = out.count
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<n { o[i] = a.pointer[i] >= b.pointer[i] ? 1 : 0 }
        }
        return out
    }

    /// Expanded values with no recording (for masks).
    func broadcastValues(to target: [Int]) -> Tensor {
        withoutGradient { detached.broadcast(to: target) }
    }

    /// Element-wise `min(max(self, lower), upper)`; the gradient passes where
    /// the value is inside the range.
    public func clamped(min lower: Float, max upper: Float) -> Tensor {
        precondition(lower <= upper, "clamped: min \(lower) > max \(upper)")
        var out = Tensor(uninitializedShape: shape)
        var mask = Tensor(uninitializedShape: shape)
        let n = count
        withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                mask.withUnsafeMutableBufferPointer { m in
                    for i in 0..<n {
                        let v = src[i]
                        dst[i] = Swift.min(Swift.max(v, lower), upper)
                        m[i] = v >= lower && v <= upper ? 1 : 0
                    }
                }
            }
        }
        let passMask = mask
        return Tensor.record(out, inputs: [self]) { g in [g * passMask] }
    }
}
