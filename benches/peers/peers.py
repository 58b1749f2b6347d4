"""maxsim against numpy + OpenBLAS, maxsim-cpu and numkong, on identical data, in one run.

Each tool runs in its own subprocess, so its thread count is set before its libraries load.
Times are medians of several repetitions of scoring every document for one query (data
already in memory, file reading excluded). maxsim is timed on the .npy documents and on index
files of them stored as f32 and bf16, built once per data set by `maxsim index` outside the
timing (index-time work, like numkong's packing). Prints a table of times and ratios, and, with
--chart, draws throughput against document length per ISA, maxsim layout and peer.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPEAT = 5
# The storage types of the index files timed beside the .npy documents: f32 scores exactly as
# the .npy documents do (checked), bf16 halves the bytes read at the cost of rounding.
INDEX_DTYPES = ("f32", "bf16")


def unit_rows(rng, shape):
    x = rng.standard_normal(shape, dtype=np.float32)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return x


def median_ms(fn):
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[REPEAT // 2]


def worker(args):
    """Runs one peer at a fixed thread count; prints one JSON line."""
    q = np.load(args.query)
    docs = np.load(args.docs_file)
    out = {"peer": args.worker, "threads": args.threads}
    if args.worker == "numpy":
        from threadpoolctl import threadpool_info, threadpool_limits

        with threadpool_limits(args.threads):
            scores = None

            def run():
                nonlocal scores
                scores = (q @ docs.transpose(0, 2, 1)).max(axis=2).sum(axis=1)

            out["ms"] = median_ms(run)
        out["blas"] = ", ".join(
            f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}" for i in threadpool_info()
        )
    elif args.worker == "maxsim-cpu":
        import maxsim_cpu

        scores = None

        def run():
            nonlocal scores
            scores = maxsim_cpu.maxsim_scores(q, docs)

        out["ms"] = median_ms(run)
    elif args.worker == "numkong":
        import numkong as nk
        from concurrent.futures import ThreadPoolExecutor

        packed_query = nk.maxsim_pack(q)
        packed_docs = [nk.maxsim_pack(d) for d in docs]  # packing is index-time work
        angular = np.zeros(len(docs))

        def score_range(lo, hi):
            for i in range(lo, hi):
                angular[i] = nk.maxsim_packed(packed_query, packed_docs[i])

        bounds = np.linspace(0, len(docs), args.threads + 1).astype(int)
        with ThreadPoolExecutor(args.threads) as pool:
            def run():
                list(pool.map(lambda b: score_range(*b), zip(bounds[:-1], bounds[1:])))

            out["ms"] = median_ms(run)
        # numkong returns the sum over query rows of the minimum angular distance 1 - cos;
        # for unit vectors the exact MaxSim score is n minus that.
        scores = q.shape[0] - angular
    else:
        raise SystemExit(f"unknown worker {args.worker}")
    np.save(args.scores_out, np.asarray(scores, dtype=np.float64))
    print(json.dumps(out))


def run_peer(script_args, peer, threads, files):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    scores_out = os.path.join(files, f"{peer}-{threads}.npy")
    cmd = [sys.executable, __file__, "--worker", peer, "--threads", str(threads),
           "--query", os.path.join(files, "q.npy"), "--docs-file", os.path.join(files, "d.npy"),
           "--scores-out", scores_out]
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=1800)
    except subprocess.CalledProcessError as e:
        return {"peer": peer, "threads": threads, "error": e.stderr.strip().splitlines()[-1:]}
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["scores"] = np.load(scores_out)
    return out


def index_path(files, dtype):
    return os.path.join(files, f"d-{dtype}.index")


def build_indexes(maxsim, files):
    """Writes d.npy as one index file per INDEX_DTYPES; not timed (index-time work)."""
    for dtype in INDEX_DTYPES:
        subprocess.run([maxsim, "index", "--docs", os.path.join(files, "d.npy"), "--dtype", dtype,
                        "--out", index_path(files, dtype)], capture_output=True, text=True, check=True)


def run_maxsim(maxsim, isa, threads, files, index_dtype=None):
    """Times `maxsim score` on d.npy, or with index_dtype on the index file of that storage type."""
    if index_dtype:
        documents = ["--index", index_path(files, index_dtype)]
        name = f"maxsim index {index_dtype}"
    else:
        documents = ["--docs", os.path.join(files, "d.npy")]
        name = "maxsim"
    cmd = [maxsim, "score", "--query", os.path.join(files, "q.npy"), *documents,
           "--threads", str(threads), "--repeat", str(REPEAT)]
    if isa:
        cmd += ["--isa", isa]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    ms = float(result.stderr.split(" in ")[1].split(" ms")[0])
    scores = np.array([float(line) for line in result.stdout.split()], dtype=np.float64)
    # "ours" marks the .npy run, the row every other one at its thread count is compared with.
    return {"peer": f"{name} ({isa or 'dispatched'})", "ours": not index_dtype, "isa": isa or "dispatched",
            "layout": index_dtype or "npy", "threads": threads, "ms": ms, "scores": scores}


def check_f32_index(npy, index):
    """An f32 index holds the documents' values unchanged, so its scores must be the .npy ones
    bit for bit: anything else is a bug in maxsim, not a benchmark result."""
    if not np.array_equal(npy["scores"], index["scores"]):
        worst = float(np.max(np.abs(npy["scores"] - index["scores"])))
        raise SystemExit(f"{index['peer']} at {index['threads']} threads: scores differ from "
                         f"{npy['peer']} by up to {worst:.3g}; they must be equal")


def measure(args, docs_count, doc_rows, query_rows, peers, isas, thread_counts):
    rng = np.random.default_rng(args.seed)
    results = []
    with tempfile.TemporaryDirectory() as files:
        np.save(os.path.join(files, "q.npy"), unit_rows(rng, (query_rows, args.dim)))
        np.save(os.path.join(files, "d.npy"), unit_rows(rng, (docs_count, doc_rows, args.dim)))
        build_indexes(args.maxsim, files)
        for threads in thread_counts:
            for isa in isas:
                npy = run_maxsim(args.maxsim, isa, threads, files)
                results.append(npy)
                for dtype in INDEX_DTYPES:
                    index = run_maxsim(args.maxsim, isa, threads, files, dtype)
                    if dtype == "f32":
                        check_f32_index(npy, index)
                    results.append(index)
            for peer in peers:
                results.append(run_peer(args, peer, threads, files))
    return results


def table(results, query_rows, docs_count, doc_rows, dim):
    exact = results[0]["scores"]
    flops = 2.0 * query_rows * doc_rows * dim * docs_count
    width = max(26, *(len(r["peer"]) for r in results))
    print(f"\nquery {query_rows} x {docs_count} documents x {doc_rows} rows x dim {dim}")
    print(f"{'tool':<{width}} {'threads':>7} {'ms/query':>10} {'GFLOP/s':>8} {'its time / maxsim':>18} {'max |error| vs maxsim':>22}")
    ours = {r["threads"]: r["ms"] for r in results if r.get("ours")}
    for r in results:
        if "error" in r:
            print(f"{r['peer']:<{width}} {r['threads']:>7} failed: {r['error']}")
            continue
        ratio = r["ms"] / ours[r["threads"]]
        err = float(np.max(np.abs(r["scores"] - exact))) if len(r["scores"]) else 0.0
        print(f"{r['peer']:<{width}} {r['threads']:>7} {r['ms']:>10.2f} {flops / r['ms'] / 1e6:>8.1f} "
              f"{ratio:>17.2f}x {err:>22.3g}")
        if "blas" in r:
            print(f"{'':<{width}} {'':>7} ({r['blas']})")
    # measure() stops on any difference, so reaching here means the f32 rows matched.
    print("maxsim index f32: scores equal maxsim's on the .npy documents bit for bit (checked); "
          "index bf16's error is the documents' rounding to bf16")


def chart_style(r, isas, peers):
    """One colour per maxsim ISA and per peer; maxsim's layouts share their ISA's colour and
    differ in line style (.npy solid, index f32 dashed, index bf16 dotted)."""
    if "layout" in r:
        linestyle = {"npy": "-", "f32": "--", "bf16": ":"}[r["layout"]]
        return {"color": f"C{isas.index(r['isa'])}", "linestyle": linestyle}
    return {"color": f"C{len(isas) + peers.index(r['peer'])}", "linestyle": "-"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--maxsim", default="target/release/maxsim")
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--doc-rows", type=int, default=1038)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--rows", default="32,10")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--peers", default="numpy,maxsim-cpu,numkong")
    parser.add_argument("--chart", help="PNG path for throughput against document length")
    parser.add_argument("--sweep", default="180,512,1038,2048", help="document lengths for --chart")
    parser.add_argument("--sweep-docs", type=int, default=200)
    parser.add_argument("--worker")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--query")
    parser.add_argument("--docs-file")
    parser.add_argument("--scores-out")
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    cores = os.cpu_count() or 1
    thread_counts = sorted({1, cores})
    peers = [p for p in args.peers.split(",") if p]
    print(f"cpu: {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}, "
          f"{cores} cores; numpy {np.__version__}")
    for query_rows in [int(r) for r in args.rows.split(",")]:
        results = measure(args, args.docs, args.doc_rows, query_rows, peers, [None], thread_counts)
        table(results, query_rows, args.docs, args.doc_rows, args.dim)

    if args.chart:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        isas = subprocess.run([args.maxsim, "isa"], capture_output=True, text=True, check=True).stdout
        supported = [i.strip() for i in isas.split("supported:")[1].splitlines()[0].split(",") if i.strip() != "scalar"]
        lengths = [int(n) for n in args.sweep.split(",")]
        series, styles = {}, {}
        for doc_rows in lengths:
            results = measure(args, args.sweep_docs, doc_rows, 32, peers, supported, [1])
            for r in results:
                if "ms" in r:
                    flops = 2.0 * 32 * doc_rows * args.dim * args.sweep_docs
                    series.setdefault(r["peer"], []).append((doc_rows, flops / r["ms"] / 1e6))
                    styles.setdefault(r["peer"], chart_style(r, supported, peers))
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, points in series.items():
            label = f"{name} (approximate score)" if name == "numkong" else name
            ax.plot(*zip(*points), marker="o", label=label, **styles[name])
        ax.set_xlabel("document length (token rows)")
        ax.set_ylabel("GFLOP/s (2 n m dim / time), one thread")
        ax.set_title(f"MaxSim, query of 32 tokens, dim {args.dim}, {args.sweep_docs} documents")
        ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(args.chart, dpi=110)
        print(f"\nchart: {args.chart}")
        for name, points in series.items():
            print(f"  {name}: " + ", ".join(f"{m} rows {g:.1f} GFLOP/s" for m, g in points))


if __name__ == "__main__":
    main()
