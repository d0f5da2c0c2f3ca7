@testable import SwiftGrad

/// Direct-from-definition implementations used as test oracles. They share
/// no code with the kernels: plain loops over Swift arrays.
enum Naive {
    static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Size2, padding: Size2, dilation: Size2, groups: Int) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (k, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let ho = (h + 2 * padding.h - dilation.h * (kh - 1) - 1) / stride.h + 1
        let wo = (wd + 2 * padding.w - dilation.w * (kw - 1) - 1) / stride.w + 1
        let xs = x.scalars, ws = w.scalars, bs = b?.scalars
        var out = [Float](repeating: 0, count: n * k * ho * wo)
        let kg = k / groups
        for ni in 0..<n {
            for ki in 0..<k {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let grp = ki / kg
                        var acc: Float = bs?[ki] ?? 0
                        for ci in 0..<cg {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * stride.h - padding.h + ky * dilation.h
                                    let ix = ox * stride.w - padding.w + kx * dilation.w
                                    guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                    let cin = grp * cg + ci
                                    acc += xs[((ni * c + cin) * h + iy) * wd + ix] * ws[((ki * cg + ci) * kh + ky) * kw + kx]
                                }
                            }
                        }
                        out[((ni * k + ki) * ho + oy) * wo + ox] = acc
                    }
                }
            }
        }
        return Tensor(shape: [n, k, ho, wo], scalars: out)
    }

    /// Transposed conv by scattering each input pixel through the kernel.
    static func convTranspose2d(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Size2, padding: Size2,
        outputPadding: Size2, dilation: Size2, groups: Int
    ) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kg, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
        let k = kg * groups
        let cg = c / groups
        let ho = (h - 1) * stride.h - 2 * padding.h + dilation.h * (kh - 1) + outputPadding.h + 1
        let wo = (wd - 1) * stride.w - 2 * padding.w + dilation.w * (kw - 1) + outputPadding.w + 1
        let xs = x.scalars, ws = w.scalars
        var out = [Float](repeating: 0, count: n * k * ho * wo)
        for ni in 0..<n {
            for ci in 0..<c {
                for iy in 0..<h {
                    for ix in 0..<wd {
                        let grp = ci / cg
                        let v = xs[((ni * c + ci) * h + iy) * wd + ix]
                        for kj in 0..<kg {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let oy = iy * stride.h - padding.h + ky * dilation.h
                                    let ox = ix * stride.w - padding.w + kx * dilation.w
                                    guard oy >= 0, oy < ho, ox >= 0, ox < wo else { continue }
                                    let ko = grp * kg + kj
                                    out[((ni * k + ko) * ho + oy) * wo + ox] += v * ws[((ci * kg + kj) * kh + ky) * kw + kx]
                                }
                            }
                        }
                    }
                }
            }
        }
        if let b {
            let bs = b.scalars
            for i in out.indices { out[i] += bs[(i / (ho * wo)) % k] }
        }
        return Tensor(shape: [n, k, ho, wo], scalars: out)
    }

    static func pool2d(_ x: Tensor, kernel: Size2, stride: Size2, padding: Size2, max: Bool, countIncludePad: Bool) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h + 2 * padding.h - kernel.h) / stride.h + 1
        let wo = (w + 2 * padding.w - kernel.w) / stride.w + 1
        let xs = x.scalars
        var out = [Float](repeating: 0, count: n * c * ho * wo)
        for p in 0..<(n * c) {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var best = -Float.infinity, sum: Float = 0, inside = 0
                    let y0 = oy * stride.h - padding.h, x0 = ox * stride.w - padding.w
                    for ky in 0..<kernel.h {
                        for kx in 0..<kernel.w {
                            let iy = y0 + ky, ix = x0 + kx
                            guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                            let v = xs[(p * h + iy) * w + ix]
                            best = Swift.max(best, v)
                            sum += v
                            inside += 1
                        }
                    }
                    // PyTorch's divisor with padding counted: the window clipped to the padded input.
                    let hEnd = Swift.min(y0 + kernel.h, h + padding.h), wEnd = Swift.min(x0 + kernel.w, w + padding.w)
                    let padded = (hEnd - y0) * (wEnd - x0)
                    out[(p * ho + oy) * wo + ox] = max ? best : sum / Float(countIncludePad ? padded : inside)
                }
            }
        }
        return Tensor(shape: [n, c, ho, wo], scalars: out)
    }

    static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        let x = a.scalars, y = b.scalars
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k { acc += x[i * k + p] * y[p * n + j] }
                out[i * n + j] = acc
            }
        }
        return Tensor(shape: [m, n], scalars: out)
    }
}
