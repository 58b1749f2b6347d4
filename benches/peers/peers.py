"""maxsim against numpy + OpenBLAS, maxsim-cpu and numkong, on identical data, in one run.

Each tool runs in its own subprocess, so its thread count is set before its libraries load.
Times are medians of several repetitions of scoring every document for one query (data
already in memory, file reading excluded). maxsim is timed on the .npy documents and on index
files of them stored as f32 and bf16, built once per data set by `maxsim index` outside the
timing (index-time work, like numkong's packing). Prints a table of times and ratios.

Then, unless --no-structured, a top-10 comparison on structured data (the model of
maxsim::synthetic::Synthetic, generated here in numpy; random unit vectors leave nothing to
prune): per shape of --structured-shapes, queries of --rows tokens derived from one document,
maxsim's exact top 10 on a bf16 index with pruning by its int8 sketch and with the full scan
(the same hits, checked), beside numkong's approximate scores of every document and its top 10
taken from them, with its agreement with maxsim's. With --chart, it last draws throughput
against document length per ISA, maxsim layout and peer.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

REPEAT = 5
# The storage types of the index files timed beside the .npy documents: f32 scores exactly as
# the .npy documents do (checked), bf16 halves the bytes read at the cost of rounding.
INDEX_DTYPES = ("f32", "bf16")
TOP_K = 10
# The model of maxsim::synthetic::Synthetic (src/synthetic.rs) and its parameters.
VOCABULARY = 4096
TOPIC_CLUSTERS = 16
TOPIC_SHARE = 0.7
TOKEN_NOISE = 0.35
QUERY_NOISE = 0.2
REPLACED = 0.25


def unit_rows(rng, shape):
    x = rng.standard_normal(shape, dtype=np.float32)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return x


class Structured:
    """maxsim::synthetic::Synthetic in numpy: its model and parameters, not its numbers (numpy's
    generator draws them); every tool reads the same arrays. A vocabulary of unit cluster
    centers used with Zipf weights 1 / (c + 1); a document draws TOPIC_SHARE of its tokens from
    its own TOPIC_CLUSTERS topics, the rest from the whole vocabulary; a token is its cluster's
    center plus noise, normalized."""

    def __init__(self, rng, dim):
        self.rng, self.dim = rng, dim
        self.centers = unit_rows(rng, (VOCABULARY, dim))
        weights = 1.0 / np.arange(1, VOCABULARY + 1)
        self.cumulative = np.cumsum(weights) / weights.sum()

    def frequent_clusters(self, shape):
        """Clusters drawn by their Zipf weights."""
        drawn = np.searchsorted(self.cumulative, self.rng.random(shape))
        return np.minimum(drawn, VOCABULARY - 1)  # a rounded last weight below 1 never overflows

    def perturbed(self, sources, noise):
        """normalize(source + noise * g / sqrt(dim)) per row, g standard Gaussian: unit tokens at
        about noise (a number, or one per row) from their sources."""
        tokens = self.rng.standard_normal(sources.shape, dtype=np.float32)
        tokens *= (np.asarray(noise, dtype=np.float32) / np.float32(np.sqrt(self.dim)))[..., None]
        tokens += sources
        tokens /= np.linalg.norm(tokens, axis=-1, keepdims=True)
        return tokens

    def documents_into(self, out):
        """Fills out, (docs, rows, dim) float32, with documents; by chunks of about 4 M values, so
        that the temporaries stay small when out is a file mapped in memory."""
        docs, rows, _ = out.shape
        chunk = max(1, (1 << 22) // (rows * self.dim))
        for first in range(0, docs, chunk):
            count = min(chunk, docs - first)
            topics = self.frequent_clusters((count, TOPIC_CLUSTERS))
            from_topics = topics[np.arange(count)[:, None], self.rng.integers(0, TOPIC_CLUSTERS, (count, rows))]
            clusters = np.where(self.rng.random((count, rows)) < TOPIC_SHARE, from_topics,
                                self.frequent_clusters((count, rows)))
            out[first:first + count] = self.perturbed(self.centers[clusters], TOKEN_NOISE)

    def query_for(self, document, rows):
        """rows tokens derived from document: each a random token of it perturbed by QUERY_NOISE
        or, with probability REPLACED, a cluster center drawn by frequency perturbed by
        TOKEN_NOISE (words the document lacks)."""
        replaced = self.rng.random(rows) < REPLACED
        sources = np.where(replaced[:, None], self.centers[self.frequent_clusters(rows)],
                           document[self.rng.integers(0, len(document), rows)])
        return self.perturbed(sources, np.where(replaced, TOKEN_NOISE, QUERY_NOISE))


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


def build_indexes(maxsim, files, dtypes=INDEX_DTYPES):
    """Writes d.npy as one index file per storage type of dtypes; not timed (index-time work)."""
    for dtype in dtypes:
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


def top_k(scores):
    """The TOP_K best indices, best first, ties to the lower index (as `maxsim search` orders)."""
    best = np.argpartition(-scores, TOP_K - 1)[:TOP_K] if len(scores) > TOP_K else np.arange(len(scores))
    return best[np.lexsort((best, -scores[best]))]


def run_maxsim_search(maxsim, threads, files, prune):
    """Times `maxsim search` for the TOP_K best on the bf16 index: its hits, time and --stats."""
    cmd = [maxsim, "search", "--query", os.path.join(files, "q.npy"), "--index", index_path(files, "bf16"),
           "--k", str(TOP_K), "--threads", str(threads), "--repeat", str(REPEAT), "--stats"]
    if not prune:
        cmd.append("--no-prune")
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    ms = float(re.search(r" in ([0-9.]+) ms \(median of", result.stderr).group(1))
    rescored, documents, how = re.search(r"(\d+) of (\d+) documents scored exactly \(([^)]*)\)",
                                         result.stderr).groups()
    hits = [line.split("\t") for line in result.stdout.splitlines()]
    # A pruned search whose guard found that pruning would not pay scans in full: say so.
    fell_back = " (full scan)" if prune and how == "full scan" else ""
    return {"peer": f"maxsim index bf16, {'pruned' if prune else 'full scan'}", "pruned": prune,
            "threads": threads, "ms": ms, "rescored": f"{rescored} of {documents}{fell_back}",
            "top": np.array([int(index) for index, _ in hits]),
            "top_scores": np.array([float(score) for _, score in hits], dtype=np.float64)}


def check_pruned(pruned, full, where):
    """Pruning must return the full scan's hits bit for bit: anything else is a bug in maxsim,
    not a benchmark result."""
    if not (np.array_equal(pruned["top"], full["top"]) and np.array_equal(pruned["top_scores"], full["top_scores"])):
        raise SystemExit(f"{where}, {pruned['threads']} threads: maxsim's pruned top {TOP_K} "
                         f"{list(zip(pruned['top'].tolist(), pruned['top_scores'].tolist()))} differs from its "
                         f"full scan's {list(zip(full['top'].tolist(), full['top_scores'].tolist()))}; "
                         "they must be equal bit for bit")


def structured(args, docs_count, doc_rows, peers, thread_counts):
    """The top-10 comparison on one structured data set: per query length, maxsim pruned and full
    scan on a bf16 index (built once, not timed) and numkong if in peers, each thread count."""
    rng = np.random.default_rng(args.seed)
    data = Structured(rng, args.dim)
    with tempfile.TemporaryDirectory() as files:
        # Written straight to the file: the text shape is about 1 GB of float32.
        docs = np.lib.format.open_memmap(os.path.join(files, "d.npy"), mode="w+", dtype=np.float32,
                                         shape=(docs_count, doc_rows, args.dim))
        data.documents_into(docs)
        docs.flush()
        build_indexes(args.maxsim, files, ("bf16",))
        target = int(rng.integers(docs_count))
        for query_rows in [int(r) for r in args.rows.split(",")]:
            query = data.query_for(docs[target], query_rows)
            np.save(os.path.join(files, "q.npy"), query)
            results = []
            for threads in thread_counts:
                pruned = run_maxsim_search(args.maxsim, threads, files, prune=True)
                full = run_maxsim_search(args.maxsim, threads, files, prune=False)
                check_pruned(pruned, full, f"structured {docs_count}x{doc_rows}, query {query_rows}")
                results += [pruned, full]
                if "numkong" in peers:
                    results.append(run_peer(args, "numkong", threads, files))
            # maxsim scores the documents rounded to bf16: float64 scores of the float32
            # documents of its top 10 show how far that rounding moves them.
            best = results[0]["top"]
            float64 = (query.astype(np.float64) @ docs[best].astype(np.float64).transpose(0, 2, 1)
                       ).max(axis=2).sum(axis=1)
            structured_table(results, float64, target, query_rows, docs_count, doc_rows, args.dim)
        del docs  # the mapping, before its directory goes


def structured_table(results, float64, target, query_rows, docs_count, doc_rows, dim):
    # The reference: maxsim's exact top 10 on the bf16 index (pruned equals full scan, checked).
    exact = results[0]
    width = max(30, *(len(r["peer"]) for r in results))
    found = np.flatnonzero(exact["top"] == target)
    rank = f"at rank {found[0] + 1} of maxsim's top {TOP_K}" if len(found) else f"not in maxsim's top {TOP_K}"
    print(f"\nstructured data, top {TOP_K}: query {query_rows} x {docs_count} documents x {doc_rows} rows "
          f"x dim {dim}; the query derived from document {target}, {rank}")
    print(f"{'tool':<{width}} {'threads':>7} {'ms/query':>10} {'its time / pruned':>18} {'rescored':>20} "
          f"{'top-10 agreement':>17} {'max |score error|':>18}")
    pruned_ms = {r["threads"]: r["ms"] for r in results if r.get("pruned")}
    numkong_vs_float64, selection_ms = [], None
    for r in results:
        if "error" in r:
            print(f"{r['peer']:<{width}} {r['threads']:>7} failed: {r['error']}")
            continue
        if "top" in r:  # maxsim
            top, top_scores, rescored = r["top"], r["top_scores"], r["rescored"]
        else:  # numkong: a score for every document; its top 10 from those
            top = top_k(r["scores"])
            selection_ms = median_ms(lambda: top_k(r["scores"]))
            top_scores, rescored = r["scores"][exact["top"]], "all, approximate"
            numkong_vs_float64.append(float(np.max(np.abs(top_scores - float64))))
        agreement = f"{len(set(top.tolist()) & set(exact['top'].tolist()))}/{len(exact['top'])}"
        error = float(np.max(np.abs(top_scores - exact["top_scores"])))
        print(f"{r['peer']:<{width}} {r['threads']:>7} {r['ms']:>10.2f} {r['ms'] / pruned_ms[r['threads']]:>17.2f}x "
              f"{rescored:>20} {agreement:>17} {error:>18.3g}")
    print(f"reference: maxsim's exact top {TOP_K} on the bf16 index; pruned and full scan return the same hits "
          "and scores bit for bit (checked); rescored: documents scored exactly after the int8 sketch's screening")
    print(f"max |score error|: on maxsim's top {TOP_K} documents, against maxsim's scores; those are within "
          f"{float(np.max(np.abs(exact['top_scores'] - float64))):.3g} of the float32 documents' float64 scores "
          "(the rounding to bf16)"
          + (f", numkong's within {max(numkong_vs_float64):.3g}" if numkong_vs_float64 else ""))
    if selection_ms is not None:
        print(f"numkong's time is its scoring of every document; picking its top {TOP_K} from those scores "
              f"(numpy, outside its time) takes {selection_ms:.3f} ms, negligible")


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
    parser.add_argument("--structured", action=argparse.BooleanOptionalAction, default=True,
                        help="the top-10 comparison on structured data (--no-structured skips it)")
    parser.add_argument("--structured-shapes", default="500x1038,10000x180",
                        help="DOCSxROWS data sets of it: the seed shape and the text shape")
    parser.add_argument("--structured-threads", default="1,2")
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

    if args.structured:
        structured_threads = [int(t) for t in args.structured_threads.split(",")]
        for shape in args.structured_shapes.split(","):
            docs_count, doc_rows = (int(n) for n in shape.split("x"))
            structured(args, docs_count, doc_rows, peers, structured_threads)

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
