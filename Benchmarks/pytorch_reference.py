#!/usr/bin/env python3
"""PyTorch twin of the `bench` tool: the same cases a-l, passes, FLOP and
byte counts and JSON keys, so the two can be compared line by line.

    python3 Benchmarks/pytorch_reference.py --threads 2
    python3 Benchmarks/pytorch_reference.py --threads 2 --json > torch.jsonl
    python3 Benchmarks/pytorch_reference.py --threads 2 --channels-last

--channels-last runs every case in PyTorch's NHWC memory format (its
fastest on CPU), the "best layout" figures of the kernel and U-Net issues.

PyTorch is an optional dependency (pip install torch); it is imported only
when the script runs.
"""
import argparse
import json
import statistics
import sys
import time


def import_torch():
    try:
        import torch  # noqa: PLC0415 (optional dependency, imported lazily)
    except ImportError:
        sys.exit("pytorch_reference.py needs PyTorch: pip install torch "
                 "(the Swift bench itself does not)")
    return torch


def conv_case(cid, n, c, h, w, k, kernel, stride=1, pad=0):
    return dict(id=cid, kind="conv2d", n=n, c=c, h=h, w=w, k=k, kernel=kernel,
                stride=stride, pad=pad)


def convt_case(cid, n, c, h, w, k, kernel, stride, pad=0, out_pad=0):
    return dict(id=cid, kind="conv_transpose2d", n=n, c=c, h=h, w=w, k=k,
                kernel=kernel, stride=stride, pad=pad, out_pad=out_pad)


CASES = [
    conv_case("a", 512, 1, 28, 28, 32, 3),
    conv_case("b", 512, 32, 13, 13, 64, 3),
    conv_case("c", 32, 64, 56, 56, 64, 3, pad=1),
    conv_case("d", 8, 64, 128, 128, 64, 3, pad=1),
    conv_case("e", 32, 256, 28, 28, 128, 1),
    conv_case("f", 32, 64, 56, 56, 128, 3, stride=2, pad=1),
    dict(id="g", kind="max_pool2d", n=32, c=64, h=112, w=112),
    dict(id="h", kind="avg_pool2d", n=32, c=64, h=112, w=112),
    convt_case("i", 8, 128, 32, 32, 64, 2, stride=2),
    convt_case("j", 16, 64, 32, 32, 32, 3, stride=2, pad=1, out_pad=1),
    dict(id="k", kind="sgemm", m=1024, n=1024, k=1024),
    dict(id="k", kind="sgemm", m=512, n=576, k=64),
    # bench's case l (Benchmarks/bench/UNetStep.swift): one U-Net training
    # step, N=8 1x128x128, channels [16, 32, 64, 128] + 256, 4 classes.
    dict(id="l", kind="unet_train_step", n=8, size=128,
         channels=[16, 32, 64, 128], bottleneck=256, classes=4),
]


def unet_step_flops(case):
    """bench's unetStepFlops: every conv and transposed conv three times."""
    n, classes = case["n"], case["classes"]

    def conv(c, k, taps, pixels):
        return 2.0 * n * c * k * taps * pixels

    total, c, hw = 0.0, 1, case["size"] ** 2
    skips = []
    for f in case["channels"]:
        total += conv(c, f, 9, hw) + conv(f, f, 9, hw)
        skips.append((f, hw))
        c, hw = f, hw // 4
    b = case["bottleneck"]
    total += conv(c, b, 9, hw) + conv(b, b, 9, hw)
    c = b
    for f, skip_hw in reversed(skips):
        total += conv(c, f, 4, hw)
        hw = skip_hw
        total += conv(2 * f, f, 9, hw) + conv(f, f, 9, hw)
        c = f
    return 3 * (total + conv(c, classes, 1, hw))


def unet_step(torch, case, fmt):
    """The step of bench's case l: the same model (ReLU after every 3x3
    conv, 2x2 max pool, 2x2 stride-2 transposed conv, skip concatenated
    first), per-pixel cross-entropy and Adam (learning rate 1e-3)."""
    nn = torch.nn

    def double(cin, f):
        return nn.Sequential(nn.Conv2d(cin, f, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(f, f, 3, padding=1), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            chans, b = case["channels"], case["bottleneck"]
            ins = [1] + chans[:-1]
            self.enc = nn.ModuleList(double(i, f) for i, f in zip(ins, chans))
            self.bottleneck = double(chans[-1], b)
            outs = chans[1:] + [b]
            self.up = nn.ModuleList(nn.ConvTranspose2d(o, f, 2, stride=2)
                                    for o, f in zip(outs, chans))
            self.dec = nn.ModuleList(double(2 * f, f) for f in chans)
            self.head = nn.Conv2d(chans[0], case["classes"], 1)

        def forward(self, x):
            skips = []
            for enc in self.enc:
                x = enc(x)
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
            x = self.bottleneck(x)
            for i in reversed(range(len(skips))):
                x = self.dec[i](torch.cat([skips[i], self.up[i](x)], 1))
            return self.head(x)

    model = UNet().to(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, size = case["n"], case["size"]
    images = torch.rand(n, 1, size, size).contiguous(memory_format=fmt)
    labels = torch.randint(0, case["classes"], (n, size, size))

    def step():
        with torch.enable_grad():
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()

    shape = "N%d 1x%dx%d, %s+%d -> %d classes" % (
        n, size, size, case["channels"], case["bottleneck"], case["classes"])
    return [("fwd+bwd+adam", unet_step_flops(case), None, shape, step)]


def op_name(case):
    if case["kind"] == "sgemm":
        return "sgemm_%dx%dx%d" % (case["m"], case["n"], case["k"])
    return case["kind"]


def matches(case, filters):
    # A single letter names a case; anything longer is an op substring.
    return not filters or any(
        f == case["id"] or (len(f) > 1 and f in op_name(case))
        for f in filters)


def passes(torch, case, fmt):
    """(pass name, flops or None, bytes or None, shape, closure) per pass;
    fmt is the memory format of the images, weights and gradients."""
    aten = torch.ops.aten
    kind = case["kind"]
    if kind == "unet_train_step":
        return unet_step(torch, case, fmt)
    if kind == "sgemm":
        m, n, k = case["m"], case["n"], case["k"]
        a, b = torch.rand(m, k) * 2 - 1, torch.rand(k, n) * 2 - 1
        out = torch.empty(m, n)
        return [("forward", 2.0 * m * n * k, None, "M%d N%d K%d" % (m, n, k),
                 lambda: torch.mm(a, b, out=out))]
    n, c, h, w = case["n"], case["c"], case["h"], case["w"]
    x = (torch.rand(n, c, h, w) * 2 - 1).contiguous(memory_format=fmt)
    if kind in ("max_pool2d", "avg_pool2d"):
        ho, wo = h // 2, w // 2
        shape = "N%d C%d %dx%d, 2x2 s2" % (n, c, h, w)
        elems = n * c * (h * w + ho * wo)
        if kind == "max_pool2d":
            y, idx = aten.max_pool2d_with_indices(x, [2, 2], [2, 2])
            dy = torch.rand_like(y).contiguous(memory_format=fmt)
            nbytes = 4.0 * elems + 4.0 * n * c * ho * wo  # + int32 indices
            return [
                ("forward", None, nbytes, shape,
                 lambda: aten.max_pool2d_with_indices(x, [2, 2], [2, 2])),
                ("backward", None, nbytes, shape,
                 lambda: aten.max_pool2d_with_indices_backward(
                     dy, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)),
            ]
        dy = torch.rand(n, c, ho, wo).contiguous(memory_format=fmt)
        return [
            ("forward", None, 4.0 * elems, shape,
             lambda: aten.avg_pool2d(x, [2, 2], [2, 2])),
            ("backward", None, 4.0 * elems, shape,
             lambda: aten.avg_pool2d_backward(dy, x, [2, 2], [2, 2], [0, 0],
                                              False, True, None)),
        ]
    k, kk, s, p = case["k"], case["kernel"], case["stride"], case["pad"]
    transposed = kind == "conv_transpose2d"
    op = case.get("out_pad", 0)
    if transposed:
        wt = (torch.rand(c, k, kk, kk) * 2 - 1).contiguous(memory_format=fmt)
        y = torch.nn.functional.conv_transpose2d(x, wt, stride=s, padding=p,
                                                 output_padding=op)
    else:
        wt = (torch.rand(k, c, kk, kk) * 2 - 1).contiguous(memory_format=fmt)
        y = torch.nn.functional.conv2d(x, wt, stride=s, padding=p)
    ho, wo = y.shape[2], y.shape[3]
    # Transposed conv counts as its equivalent conv.
    flops = 2.0 * n * c * k * kk * kk * (h * w if transposed else ho * wo)
    dy = torch.rand_like(y).contiguous(memory_format=fmt)
    shape = "N%d C%d %dx%d -> K%d %dx%d, %dx%d s%d p%d" % (
        n, c, h, w, k, ho, wo, kk, kk, s, p)

    def backward(mask):
        return lambda: aten.convolution_backward(
            dy, x, wt, None, [s, s], [p, p], [1, 1], transposed, [op, op], 1,
            mask)

    if transposed:
        forward = lambda: torch.nn.functional.conv_transpose2d(  # noqa: E731
            x, wt, stride=s, padding=p, output_padding=op)
    else:
        forward = lambda: torch.nn.functional.conv2d(  # noqa: E731
            x, wt, stride=s, padding=p)
    return [
        ("forward", flops, None, shape, forward),
        ("backward_data", flops, None, shape, backward([True, False, False])),
        ("backward_weight", flops, None, shape, backward([False, True, False])),
    ]


def time_pass(fn, warmup, iterations):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(max(1, iterations)):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples), min(samples), max(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    parser.add_argument("--filter", default="",
                        help="comma-separated case letters or op substrings")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per line")
    parser.add_argument("--channels-last", action="store_true",
                        help="NHWC memory format (PyTorch's best on CPU)")
    args = parser.parse_args()
    filters = [f.strip() for f in args.filter.split(",") if f.strip()]
    cases = [c for c in CASES if matches(c, filters)]
    if not cases:
        sys.exit("--filter %r matches no case" % args.filter)

    torch = import_torch()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fmt = (torch.channels_last if args.channels_last
           else torch.contiguous_format)
    info = "pytorch %s, %d threads, %s, %d warm-up + %d timed iterations" % (
        torch.__version__, torch.get_num_threads(),
        "channels_last" if args.channels_last else "NCHW", args.warmup,
        args.iterations)
    print(info, file=sys.stderr if args.json else sys.stdout)
    if not args.json:
        print("%-4s %-22s %-16s %10s %10s %10s %15s" % (
            "case", "op", "pass", "median ms", "min ms", "max ms",
            "throughput"))
    with torch.no_grad():
        for case in cases:
            for name, flops, nbytes, shape, fn in passes(torch, case, fmt):
                med, lo, hi = time_pass(fn, args.warmup, args.iterations)
                gflops = flops / (med * 1e-3) * 1e-9 if flops else None
                gbps = nbytes / (med * 1e-3) * 1e-9 if nbytes else None
                if args.json:
                    row = {"case": case["id"], "op": op_name(case),
                           "pass": name, "shape": shape,
                           "layout": ("channels_last" if args.channels_last
                                      else "NCHW"),
                           "ms_median": round(med, 4), "ms_min": round(lo, 4),
                           "ms_max": round(hi, 4),
                           "gflops": None if gflops is None else round(gflops, 4)}
                    if gbps is not None:
                        row["gbps"] = round(gbps, 4)
                    print(json.dumps(row), flush=True)
                else:
                    tp = ("%.1f GFLOP/s" % gflops if gflops is not None
                          else "%.1f GB/s" % gbps)
                    print("%-4s %-22s %-16s %10.3f %10.3f %10.3f %15s" % (
                        case["id"], op_name(case), name, med, lo, hi, tp),
                        flush=True)


if __name__ == "__main__":
    main()
