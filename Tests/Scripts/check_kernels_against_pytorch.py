#!/usr/bin/env python3
"""Checks SwiftGrad's C kernels against PyTorch on random configurations.

Builds CKernels/*.c into a shared library, then for random shapes and every
parameter (stride, padding, dilation, groups, output_padding, bias,
count_include_pad) compares forward and all backward passes of conv2d,
conv_transpose2d, max_pool2d, avg_pool2d and the fused conv2d + max pool
with torch's autograd.

    pip install torch numpy
    python3 Tests/Scripts/check_kernels_against_pytorch.py [--cases 200] [--threads 2]

Exits non-zero on any mismatch. Not part of `swift test` (PyTorch is never
a dependency of the package).
"""
import argparse
import ctypes as C
import glob
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("this check needs PyTorch: pip install torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_library():
    out = os.path.join(tempfile.mkdtemp(), "libckernels.so")
    sources = glob.glob(os.path.join(ROOT, "CKernels", "*.c")) + glob.glob(os.path.join(ROOT, "CKernels", "reference", "*.c"))
    cmd = ["clang", "-O2", "-fopenmp", "-shared", "-fPIC", "-I", os.path.join(ROOT, "CKernels", "include"),
           "-I", os.path.join(ROOT, "CKernels"), *sources, "-L/usr/lib/llvm-14/lib", "-lomp", "-lm", "-o", out]
    subprocess.run(cmd, check=True)
    return C.CDLL(out)


class Conv(C.Structure):
    _fields_ = [(n, C.c_int) for n in ["n", "c", "h", "w", "k", "kh", "kw", "stride_h", "stride_w", "pad_h", "pad_w",
                                        "dil_h", "dil_w", "groups", "out_h", "out_w"]]


class ConvT(C.Structure):
    _fields_ = [(n, C.c_int) for n in ["n", "c", "h", "w", "k", "kh", "kw", "stride_h", "stride_w", "pad_h", "pad_w",
                                        "out_pad_h", "out_pad_w", "dil_h", "dil_w", "groups", "out_h", "out_w"]]


class Pool(C.Structure):
    _fields_ = [(n, C.c_int) for n in ["n", "c", "h", "w", "kh", "kw", "stride_h", "stride_w", "pad_h", "pad_w",
                                        "count_include_pad", "out_h", "out_w"]]


def ptr(a):
    return a.ctypes.data_as(C.POINTER(C.c_float))


def compare(name, ours, theirs, failures, tol=2e-4):
    theirs = theirs.detach().numpy()
    scale = max(1.0, float(np.abs(theirs).max()) if theirs.size else 1.0)
    err = float(np.abs(ours - theirs).max()) if theirs.size else 0.0
    if ours.shape != theirs.shape or err > tol * scale:
        failures.append(f"{name}: max error {err:.3g} (scale {scale:.3g}), shapes {ours.shape} vs {theirs.shape}")


ALGORITHMS = {}  # conv passes per algorithm (ck_conv2d_algorithm), for the summary


def check_conv(lib, rng, failures):
    if rng.random() < 0.25:
        # A 3x3 stride-1 conv with 16+ channels: often enough 4x4 tiles for
        # the Winograd paths (forward, the flipped or adjoint data gradient,
        # the weight gradient).
        g, c, k = 1, rng.randint(16, 40), rng.randint(16, 40)
        kh = kw = 3
        sh = sw = dh = dw = 1
        ph = pw = rng.randint(0, 2)
        h, w, n = rng.randint(5, 26), rng.randint(5, 26), rng.randint(2, 8)
    else:
        g = rng.choice([1, 1, 2, 4])
        c, k = g * rng.randint(1, 3), g * rng.randint(1, 3)
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        sh, sw, ph, pw = rng.randint(1, 3), rng.randint(1, 3), rng.randint(0, 2), rng.randint(0, 2)
        dh, dw = rng.randint(1, 2), rng.randint(1, 2)
        h = max(1, dh * (kh - 1) + 1 - 2 * ph) + rng.randint(0, 7)
        w = max(1, dw * (kw - 1) + 1 - 2 * pw) + rng.randint(0, 7)
        n = rng.randint(1, 3)
    p = Conv(n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw, g, 0, 0)
    if lib.ck_conv2d_check(C.byref(p), None, 0) != 0:
        return
    for pass_ in range(3):
        name = lib.ck_conv2d_algorithm(C.byref(p), pass_).decode()
        ALGORITHMS[name] = ALGORITHMS.get(name, 0) + 1
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = torch.randn(k, c // g, kh, kw, requires_grad=True)
    b = torch.randn(k, requires_grad=True) if rng.random() < 0.5 else None
    y = F.conv2d(x, wt, b, (sh, sw), (ph, pw), (dh, dw), g)
    dy = torch.randn_like(y)
    y.backward(dy)
    xn, wn, dyn = x.detach().numpy().copy(), wt.detach().numpy().copy(), dy.numpy().copy()
    out = np.empty(y.shape, np.float32)
    lib.ck_conv2d_forward_f32(C.byref(p), ptr(xn), ptr(wn), ptr(b.detach().numpy().copy()) if b is not None else None, ptr(out))
    tag = f"conv2d {p.n}x{p.c}x{p.h}x{p.w} k{k} {kh}x{kw} s{sh},{sw} p{ph},{pw} d{dh},{dw} g{g}"
    compare(tag + " forward", out, y, failures)
    dx, dw_ = np.empty_like(xn), np.empty_like(wn)
    lib.ck_conv2d_backward_data_f32(C.byref(p), ptr(dyn), ptr(wn), ptr(dx))
    lib.ck_conv2d_backward_weight_f32(C.byref(p), ptr(xn), ptr(dyn), ptr(dw_))
    compare(tag + " backward_data", dx, x.grad, failures)
    compare(tag + " backward_weight", dw_, wt.grad, failures)
    if b is not None:
        db = np.empty(k, np.float32)
        lib.ck_conv2d_backward_bias_f32(C.byref(p), ptr(dyn), ptr(db))
        compare(tag + " backward_bias", db, b.grad, failures)


def check_conv_transpose(lib, rng, failures):
    g = rng.choice([1, 1, 2])
    c, k = g * rng.randint(1, 3), g * rng.randint(1, 3)
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    sh, sw, ph, pw = rng.randint(1, 3), rng.randint(1, 3), rng.randint(0, 2), rng.randint(0, 2)
    dh, dw = rng.randint(1, 2), rng.randint(1, 2)
    oph = rng.randint(0, max(sh, dh) - 1)
    opw = rng.randint(0, max(sw, dw) - 1)
    n, h, w = rng.randint(1, 3), rng.randint(1, 7), rng.randint(1, 7)
    p = ConvT(n, c, h, w, k, kh, kw, sh, sw, ph, pw, oph, opw, dh, dw, g, 0, 0)
    if lib.ck_conv_transpose2d_check(C.byref(p), None, 0) != 0:
        return
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = torch.randn(c, k // g, kh, kw, requires_grad=True)
    b = torch.randn(k, requires_grad=True) if rng.random() < 0.5 else None
    y = F.conv_transpose2d(x, wt, b, (sh, sw), (ph, pw), (oph, opw), g, (dh, dw))
    dy = torch.randn_like(y)
    y.backward(dy)
    xn, wn, dyn = x.detach().numpy().copy(), wt.detach().numpy().copy(), dy.numpy().copy()
    out = np.empty(y.shape, np.float32)
    lib.ck_conv_transpose2d_forward_f32(C.byref(p), ptr(xn), ptr(wn), ptr(b.detach().numpy().copy()) if b is not None else None, ptr(out))
    tag = f"conv_transpose2d {n}x{c}x{h}x{w} k{k} {kh}x{kw} s{sh},{sw} p{ph},{pw} op{oph},{opw} d{dh},{dw} g{g}"
    compare(tag + " forward", out, y, failures)
    dx, dw_ = np.empty_like(xn), np.empty_like(wn)
    lib.ck_conv_transpose2d_backward_data_f32(C.byref(p), ptr(dyn), ptr(wn), ptr(dx))
    lib.ck_conv_transpose2d_backward_weight_f32(C.byref(p), ptr(xn), ptr(dyn), ptr(dw_))
    compare(tag + " backward_data", dx, x.grad, failures)
    compare(tag + " backward_weight", dw_, wt.grad, failures)
    if b is not None:
        db = np.empty(k, np.float32)
        lib.ck_conv_transpose2d_backward_bias_f32(C.byref(p), ptr(dyn), ptr(db))
        compare(tag + " backward_bias", db, b.grad, failures)


def check_pool(lib, rng, failures, is_max):
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    sh, sw = rng.randint(1, 3), rng.randint(1, 3)
    ph, pw = rng.randint(0, kh // 2), rng.randint(0, kw // 2)
    n, c = rng.randint(1, 3), rng.randint(1, 4)
    h, w = kh + rng.randint(0, 8), kw + rng.randint(0, 8)
    include = rng.random() < 0.5
    p = Pool(n, c, h, w, kh, kw, sh, sw, ph, pw, int(include), 0, 0)
    if lib.ck_pool2d_check(C.byref(p), b"pool", None, 0) != 0:
        return
    x = torch.randn(n, c, h, w, requires_grad=True)
    if is_max:
        y = F.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw))
    else:
        y = F.avg_pool2d(x, (kh, kw), (sh, sw), (ph, pw), count_include_pad=include)
    dy = torch.randn_like(y)
    y.backward(dy)
    xn, dyn = x.detach().numpy().copy(), dy.numpy().copy()
    out, dx = np.empty(y.shape, np.float32), np.empty_like(xn)
    tag = f"{'max' if is_max else 'avg'}_pool2d {n}x{c}x{h}x{w} {kh}x{kw} s{sh},{sw} p{ph},{pw} include_pad={include}"
    if is_max:
        idx = np.empty(y.shape, np.int32)
        lib.ck_max_pool2d_forward_f32(C.byref(p), ptr(xn), ptr(out), idx.ctypes.data_as(C.POINTER(C.c_int32)))
        lib.ck_max_pool2d_backward_f32(C.byref(p), ptr(dyn), idx.ctypes.data_as(C.POINTER(C.c_int32)), ptr(dx))
    else:
        lib.ck_avg_pool2d_forward_f32(C.byref(p), ptr(xn), ptr(out))
        lib.ck_avg_pool2d_backward_f32(C.byref(p), ptr(dyn), ptr(dx))
    compare(tag + " forward", out, y, failures)
    compare(tag + " backward", dx, x.grad, failures)


def check_conv_maxpool(lib, rng, failures):
    """conv2d (+ bias, + ReLU) then max pool as one op (ck_conv2d_maxpool_*),
    against torch's max_pool2d(relu(conv2d(x))): values, argmax indices and
    the gradients of x, w and b. Half the cases are Winograd-sized 3x3 convs
    with a 2x2 stride-2 pool (pooled in the output transform)."""
    if rng.random() < 0.5:
        c, k, kh, kw, s, pad = rng.randint(16, 40), rng.randint(16, 40), 3, 3, 1, rng.randint(0, 1)
        h, w, n = rng.randint(6, 22), rng.randint(6, 22), rng.randint(2, 8)
        pk, ps, pp = 2, 2, 0
    else:
        c, k, kh, kw = rng.randint(1, 4), rng.randint(1, 6), rng.randint(1, 3), rng.randint(1, 3)
        s, pad = rng.randint(1, 2), rng.randint(0, 1)
        h, w, n = rng.randint(6, 20), rng.randint(6, 20), rng.randint(1, 6)
        pk = rng.randint(2, 3)
        ps, pp = rng.randint(1, 2), rng.randint(0, pk // 2)
    relu = rng.random() < 0.5
    p = Conv(n, c, h, w, k, kh, kw, s, s, pad, pad, 1, 1, 1, 0, 0)
    if lib.ck_conv2d_check(C.byref(p), None, 0) != 0:
        return
    q = Pool(n, k, p.out_h, p.out_w, pk, pk, ps, ps, pp, pp, 0, 0, 0)
    if lib.ck_conv2d_maxpool_check(C.byref(p), C.byref(q), None, 0) != 0:
        return
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = torch.randn(k, c, kh, kw, requires_grad=True)
    b = torch.randn(k, requires_grad=True)
    z = F.conv2d(x, wt, b, s, pad)
    a = F.relu(z) if relu else z
    y = F.max_pool2d(a, pk, ps, pp)
    xn, wn, bn = (t.detach().numpy().copy() for t in (x, wt, b))
    dyn = np.random.default_rng(rng.randint(0, 1 << 30)).standard_normal(y.shape).astype(np.float32)
    out, ind = np.empty(y.shape, np.float32), np.empty(y.shape, np.int32)
    lib.ck_conv2d_maxpool_forward_f32(C.byref(p), C.byref(q), ptr(xn), ptr(wn), ptr(bn), int(relu), ptr(out),
                                      ind.ctypes.data_as(C.POINTER(C.c_int32)))
    tag = f"conv2d_maxpool {n}x{c}x{h}x{w} k{k} {kh}x{kw} s{s} p{pad} pool {pk} s{ps} p{pp} relu={relu}"
    compare(tag + " forward", out, y, failures)
    # Each index must point at a maximum of its window in torch's output (a
    # near-tie may pick another pixel than torch: the conv's rounding differs).
    planes = a.detach().reshape(n * k, -1)
    at = torch.gather(planes, 1, torch.from_numpy(ind.reshape(n * k, -1).astype(np.int64))).reshape(y.shape)
    compare(tag + " indices", at.numpy(), y, failures)
    # The gradients, given those indices: dy routed to them (through the
    # ReLU's mask) and back through torch's conv.
    routed = np.where(out > 0, dyn, 0).astype(np.float32) if relu else dyn
    dz = torch.zeros(n * k, p.out_h * p.out_w)
    dz.scatter_add_(1, torch.from_numpy(ind.reshape(n * k, -1).astype(np.int64)),
                    torch.from_numpy(routed.reshape(n * k, -1)))
    z.backward(dz.reshape(z.shape))
    dx, dw_, db = np.empty_like(xn), np.empty_like(wn), np.empty(k, np.float32)
    lib.ck_conv2d_maxpool_backward_f32(C.byref(p), C.byref(q), ptr(xn), ptr(wn), ptr(out) if relu else None, ptr(dyn),
                                       ind.ctypes.data_as(C.POINTER(C.c_int32)), ptr(dx), ptr(dw_), ptr(db))
    compare(tag + " backward_data", dx, x.grad, failures)
    compare(tag + " backward_weight", dw_, wt.grad, failures)
    compare(tag + " backward_bias", db, b.grad, failures)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200, help="random configurations per op")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    lib = build_library()
    lib.ck_conv2d_algorithm.restype = C.c_char_p
    lib.ck_set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    failures = []
    checks = [lambda f: check_conv(lib, rng, f), lambda f: check_conv_transpose(lib, rng, f),
              lambda f: check_pool(lib, rng, f, True), lambda f: check_pool(lib, rng, f, False),
              lambda f: check_conv_maxpool(lib, rng, f)]
    passed = failed = 0
    for _ in range(args.cases):
        for check in checks:
            before = len(failures)
            check(failures)
            if len(failures) == before:
                passed += 1
            else:
                failed += 1
    for f in failures[:30]:
        print("MISMATCH", f)
    print("conv2d passes by algorithm:", ", ".join(f"{a} {n}" for a, n in sorted(ALGORITHMS.items())))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
