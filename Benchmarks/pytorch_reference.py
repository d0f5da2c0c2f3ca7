#!/usr/bin/env python3
"""PyTorch twin of the `bench` tool: the same cases a-k, passes, FLOP and
byte counts and JSON keys, so the two can be compared line by line.

    python3 Benchmarks/pytorch_reference.py --threads 2
    python3 Benchmarks/pytorch_reference.py --threads 2 --json > torch.jsonl

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
]


def op_name(case):
    if case["kind"] == "sgemm":
        return "sgemm_%dx%dx%d" % (case["m"], case["n"], case["k"])
    return case["kind"]


def matches(case, filters):
    # A single letter names a case; anything longer is an op substring.
    return not filters or any(
        f == case["id"] or (len(f) > 1 and f in op_name(case))
        for f in filters)


def passes(torch, case):
    """(pass name, flops or None, bytes or None, shape, closure) per pass."""
    aten = torch.ops.aten
    kind = case["kind"]
    if kind == "sgemm":
        m, n, k = case["m"], case["n"], case["k"]
        a, b = torch.rand(m, k) * 2 - 1, torch.rand(k, n) * 2 - 1
        out = torch.empty(m, n)
        return [("forward", 2.0 * m * n * k, None, "M%d N%d K%d" % (m, n, k),
                 lambda: torch.mm(a, b, out=out))]
    n, c, h, w = case["n"], case["c"], case["h"], case["w"]
    x = torch.rand(n, c, h, w) * 2 - 1
    if kind in ("max_pool2d", "avg_pool2d"):
        ho, wo = h // 2, w // 2
        shape = "N%d C%d %dx%d, 2x2 s2" % (n, c, h, w)
        elems = n * c * (h * w + ho * wo)
        if kind == "max_pool2d":
            y, idx = aten.max_pool2d_with_indices(x, [2, 2], [2, 2])
            dy = torch.rand_like(y)
            nbytes = 4.0 * elems + 4.0 * n * c * ho * wo  # + int32 indices
            return [
                ("forward", None, nbytes, shape,
                 lambda: aten.max_pool2d_with_indices(x, [2, 2], [2, 2])),
                ("backward", None, nbytes, shape,
                 lambda: aten.max_pool2d_with_indices_backward(
                     dy, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)),
            ]
        dy = torch.rand(n, c, ho, wo)
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
        wt = torch.rand(c, k, kk, kk) * 2 - 1
        y = torch.nn.functional.conv_transpose2d(x, wt, stride=s, padding=p,
                                                 output_padding=op)
    else:
        wt = torch.rand(k, c, kk, kk) * 2 - 1
        y = torch.nn.functional.conv2d(x, wt, stride=s, padding=p)
    ho, wo = y.shape[2], y.shape[3]
    # Transposed conv counts as its equivalent conv.
    flops = 2.0 * n * c * k * kk * kk * (h * w if transposed else ho * wo)
    dy = torch.rand_like(y)
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
    args = parser.parse_args()
    filters = [f.strip() for f in args.filter.split(",") if f.strip()]
    cases = [c for c in CASES if matches(c, filters)]
    if not cases:
        sys.exit("--filter %r matches no case" % args.filter)

    torch = import_torch()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info = "pytorch %s, %d threads, %d warm-up + %d timed iterations" % (
        torch.__version__, torch.get_num_threads(), args.warmup,
        args.iterations)
    print(info, file=sys.stderr if args.json else sys.stdout)
    if not args.json:
        print("%-4s %-22s %-16s %10s %10s %10s %15s" % (
            "case", "op", "pass", "median ms", "min ms", "max ms",
            "throughput"))
    with torch.no_grad():
        for case in cases:
            for name, flops, nbytes, shape, fn in passes(torch, case):
                med, lo, hi = time_pass(fn, args.warmup, args.iterations)
                gflops = flops / (med * 1e-3) * 1e-9 if flops else None
                gbps = nbytes / (med * 1e-3) * 1e-9 if nbytes else None
                if args.json:
                    row = {"case": case["id"], "op": op_name(case),
                           "pass": name, "shape": shape,
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
