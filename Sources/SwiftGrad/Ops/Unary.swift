import CKernels

extension Tensor {
    func unaryKernel(_ op: ck_unary_op) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        ck_unary_f32(op, Int64(count), pointer, out.pointer)
        return out
    }

    /// Maps every element through `f` and records `df` (the derivative as a
    /// function of input and output) for the pullback.
    func mapElements(
        _ f: (Float) -> Float, derivative df: @escaping (_ x: Float, _ y: Float) -> Float
    ) -> Tensor {
        var out = Tensor(uninitializedShape: shape)
        let n = count
        withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n { dst[i] = f(src[i]) }
            }
        }
        let x = detached, y = out
        return Tensor.record(out, inputs: [self]) { g in
            var dx = Tensor(uninitializedShape: x.shape)
            dx.withUnsafeMutableBufferPointer { d in
                for i in 0..<n { d[i] = g.pointer[i] * df(x.pointer[i], y.pointer[i]) }
            }
            return [dx]
        }
    }

    /// Element-wise e^x.
    public func exp() -> Tensor {
        let out = unaryKernel(CK_EXP)
        return Tensor.record(out, inputs: [self]) { g in [g * out] }
    }

    /// Element-wise natural logarithm.
    public func log() -> Tensor {
        let out = unaryKernel(CK_LOG)
        let x = detached
        return Tensor.record(out, inputs: [self]) { g in [g / x] }
    }

    /// Element-wise square root.
    public func sqrt() -> Tensor {
        let out = unaryKernel(CK_SQRT)
        return Tensor.record(out, inputs: [self]) { g in [g / (out * 2)] }
    }

    /// Element-wise hyperbolic tangent.
    public func tanh() -> Tensor {
        let out = unaryKernel(CK_TANH)
        return Tensor.record(out, inputs: [self]) { g in [g * (1 - out * out)] }
    }

    /// Element-wise logistic sigmoid 1 / (1 + e^-x), computed without overflow.
    public func sigmoid() -> Tensor {
        let out = unaryKernel(CK_SIGMOID)
        return Tensor.record(out, inputs: [self]) { g in [g * out * (1 - out)] }
    }

    /// Element-wise absolute value (gradient 0 at 0).
    public func abs() -> Tensor {
        mapElements({ Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) })
    }

    /// Element-wise max(x, 0) (gradient 0 at 0, as PyTorch).
    public func relu() -> Tensor {
        let out = unaryKernel(CK_RELU)
        return Tensor.record(out, inputs: [self]) { g in [reluPullback(output: out, upstream: g)] }
    }

    /// Element-wise x for x > 0, else slope * x.
    public func leakyRelu(slope: Float = 0.01) -> Tensor {
        mapElements({ $0 > 0 ? $0 : $0 * slope }, derivative: { x, _ in x > 0 ? 1 : slope })
    }

    /// Element-wise x * x.
    public func squared() -> Tensor { self * self }
}

/// The ReLU pullback from the activation's output: upstream where output > 0.
func reluPullback(output: Tensor, upstream: Tensor) -> Tensor {
    let dx = Tensor(uninitializedShape: output.shape)
    ck_relu_backward_f32(Int64(output.count), output.pointer, upstream.pointer, dx.pointer)
    return dx
}

/// Free-function spellings, for code that reads like math.
public func exp(_ x: Tensor) -> Tensor { x.exp() }
public func log(_ x: Tensor) -> Tensor { x.log() }
public func sqrt(_ x: Tensor) -> Tensor { x.sqrt() }
public func tanh(_ x: Tensor) -> Tensor { x.tanh() }
public func sigmoid(_ x: Tensor) -> Tensor { x.sigmoid() }
public func relu(_ x: Tensor) -> Tensor { x.relu() }
public func leakyRelu(_ x: Tensor, slope: Float = 0.01) -> Tensor { x.leakyRelu(slope: slope) }
public func pow(_ x: Tensor, _ e: Float) -> Tensor { x.pow(e) }
public func pow(_ x: Tensor, _ e: Tensor) -> Tensor { x.pow(e) }
