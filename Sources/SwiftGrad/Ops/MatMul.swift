import CKernels

/// Matrix product through the packed GEMM kernel.
///
/// - `a` [M, K] (or [K, M] with `transposeA`), `b` [K, N] (or [N, K] with
///   `transposeB`) gives [M, N].
/// - Batched: `a` [B, M, K] with `b` [B, K, N] or [K, N] gives [B, M, N].
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    let outShape = requireShape { try ShapeRules.matmul(a.shape, b.shape, transposeA: transposeA, transposeB: transposeB) }
    let batch = a.rank == 3 ? a.shape[0] : 1
    let am = a.shape[a.rank - 2], ak = a.shape[a.rank - 1]
    let bk = b.shape[b.rank - 2], bn = b.shape[b.rank - 1]
    let (m, k) = transposeA ? (ak, am) : (am, ak)
    let n = outShape[outShape.count - 1]
    let out = Tensor(uninitializedShape: outShape)
    let bStride = b.rank == 3 ? bk * bn : 0
    for i in 0..<batch {
        ck_sgemm(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), 1,
            a.pointer + i * am * ak, Int32(ak), b.pointer + i * bStride, Int32(bn), 0,
            out.pointer + i * m * n, Int32(n))
    }
    return Tensor.record(out, inputs: [a, b]) { g in
        let ad = a.detached, bd = b.detached
        // dA = g * op(B)^T, dB = op(A)^T * g, each laid out as stored.
        let da =
            transposeA
            ? matmul(g, bd, transposeB: !transposeB).transposed()
            : matmul(g, bd, transposeB: !transposeB)
        let db: Tensor
        if b.rank == 2 && a.rank == 3 {
            // B is shared by every batch item: fold the batch into rows.
            let opA = (transposeA ? ad.transposed() : ad).reshaped(to: [batch * m, k])
            let g2 = g.reshaped(to: [batch * m, n])
            db = transposeB ? matmul(g2, opA, transposeA: true) : matmul(opA, g2, transposeA: true)
        } else {
            db =
                transposeB
                ? matmul(g, ad, transposeA: true, transposeB: transposeA)
                : matmul(ad, g, transposeA: !transposeA)
        }
        return [da, db]
    }
}

extension Tensor {
    /// Matrix product `self x other`; see `matmul(_:_:transposeA:transposeB:)`.
    public func matmul(_ other: Tensor) -> Tensor { SwiftGrad.matmul(self, other) }
}
