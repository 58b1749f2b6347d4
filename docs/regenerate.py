#!/usr/bin/env python3
"""The helpers of docs/regenerate (standard library only).

  regenerate.py idle                         wait until other processes leave the CPUs idle
  regenerate.py measure OUT CMD...           run CMD, its output to OUT; exit 3 when other
                                             processes used the CPUs meanwhile
  regenerate.py summarize OUT NAME=FILE...   summary of the runs of `maxsim bench` in each FILE
  regenerate.py readme [--check]             rewrite (or check) README.md's generated blocks

A generated block in README.md is

    <!-- generated: docs/FILE -->
    ```text
    the file's content
    ```
    <!-- end generated -->

`readme` replaces what lies between the two comments with the file's content in a text fence;
`readme --check` exits 1, naming the blocks and showing a diff, when any block differs.
"""

import difflib
import os
import re
import resource
import subprocess
import time
import statistics
import sys
from collections import OrderedDict, defaultdict

README = "README.md"
BLOCK = re.compile(
    r"(<!-- generated: (?P<path>[^ ]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S
)

# Lines of `maxsim bench`'s text output.
RUN = re.compile(r"^=== run (\d+) of (\d+): (.*) ===$")
SECTION = re.compile(
    r"^(\w+), (\d+) thread\(s\): FMA peak ([\d.]+) GFLOP/s, DRAM read bandwidth ([\d.]+) GB/s"
)
ROW = re.compile(
    r"^(\w+)\s+(rows|index)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+"
    r"([\d.]+)\s+(compute|memory)\s+([\d.]+)%$"
)
BATCH = re.compile(r"^  batch of (\d+) x (\d+) rows: ([\d.]+)x the throughput")
AGAINST_ROWS = re.compile(r"^  index against rows, resident, (\d+) rows: (.*) the speed$")
BUILD = re.compile(
    r"^  index build, f32 corpus of (\d+) x (\d+) x (\d+) to (\w+): ([\d.]+) ms .*, "
    r"([\d.]+)x one scan by a (\d+)-row query"
)
PRUNED = re.compile(
    r"^  pruned top-(\d+), (\w+) (\d+) x (\d+) x (\d+), (\d+) rows: full scan ([\d.]+) ms, "
    r"pruned ([\d.]+) ms \(([\d.]+)x\), (\d+) of (\d+) documents rescored"
)
TINY = re.compile(r"^  (\d+x\d+x\d+): (\w+) ([\d.]+) ns, scalar ([\d.]+) ns")
ABOVE = re.compile(r"^  \^ (\w+): above 100%")
MEANWHILE = re.compile(
    r"^--- meanwhile: other processes ([\d.]+)% of the CPUs, hypervisor steal ([\d.]+)%"
)


def block(path):
    with open(path) as f:
        content = f.read().rstrip("\n")
    return f"```text\n{content}\n```\n"


def readme(check):
    with open(README) as f:
        text = f.read()
    stale = []

    def replace(match):
        wanted = block(match["path"])
        if match["body"] != wanted:
            stale.append((match["path"], match["body"], wanted))
        return match[1] + wanted + match[4]

    updated, count = BLOCK.subn(replace, text)
    if count == 0:
        print(f"{README}: no generated blocks", file=sys.stderr)
        return 1
    if check:
        for path, old, new in stale:
            print(f"{README}: the block for {path} differs from the file:", file=sys.stderr)
            diff = difflib.unified_diff(
                old.splitlines(), new.splitlines(), README, path, lineterm="", n=1
            )
            for line in list(diff)[:40]:
                print(line, file=sys.stderr)
        if stale:
            print("run docs/regenerate --readme to copy the files in", file=sys.stderr)
            return 1
        print(f"{README}: {count} generated blocks match their files")
        return 0
    if updated != text:
        with open(README, "w") as f:
            f.write(updated)
    print(f"{README}: {count} generated blocks, {len(stale)} rewritten")
    return 0


# A measurement is taken again when other processes used more than this share of the CPUs.
OTHERS_LIMIT = 0.02


def cpu_jiffies():
    """(busy, steal) jiffies of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def idle(longest=600):
    """Waits (up to `longest` seconds) until the CPUs have been at least 95% idle for 3 s."""
    tick = os.sysconf("SC_CLK_TCK")
    cpus = os.cpu_count() or 1
    waited = 0
    while True:
        busy, _ = cpu_jiffies()
        time.sleep(3)
        share = (cpu_jiffies()[0] - busy) / tick / (3 * cpus)
        if share < 0.05:
            return 0
        if waited % 60 == 0:
            print(
                f"the CPUs are {share:.0%} busy with other work: waiting to measure",
                file=sys.stderr,
            )
        waited += 3
        if waited >= longest:
            print(f"still busy after {longest} s: measuring anyway", file=sys.stderr)
            return 0


def measure(out, command):
    """Runs `command` with its standard output to `out`, and appends a line saying how much of
    the CPUs other processes (and the hypervisor, as steal) took meanwhile. Exit status 3 when
    the others took more than OTHERS_LIMIT: the caller measures again."""
    tick = os.sysconf("SC_CLK_TCK")
    cpus = os.cpu_count() or 1
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, steal = cpu_jiffies()
    start = time.monotonic()
    with open(out, "w") as f:
        status = subprocess.run(command, stdout=f).returncode
    wall = time.monotonic() - start
    busy_after, steal_after = cpu_jiffies()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    capacity = wall * cpus
    others = max(0.0, (busy_after - busy) / tick - ours) / capacity
    stolen = (steal_after - steal) / tick / capacity
    with open(out, "a") as f:
        f.write(
            f"--- meanwhile: other processes {others:.1%} of the CPUs, "
            f"hypervisor steal {stolen:.1%}, over {wall:.1f} s\n"
        )
    if others > OTHERS_LIMIT:
        print(
            f"other processes used {others:.1%} of the CPUs during the measurement",
            file=sys.stderr,
        )
        return 3
    return status


def parse(path):
    """Per run of `maxsim bench` in `path`: its command and what it measured."""
    runs = []
    run = section = last_dim = None
    for line in open(path):
        line = line.rstrip("\n")
        if m := RUN.match(line):
            run = {"command": m[3], "limits": {}, "rows": {}, "batch": {}, "tiny": {}, "above": []}
            run["against_rows"] = {}
            run["pruned"] = {}
            run["build"] = {}
            run["meanwhile"] = None
            runs.append(run)
        elif run is None:
            continue
        elif m := SECTION.match(line):
            section = (m[1], int(m[2]))
            run["limits"][section] = (float(m[3]), float(m[4]))
        elif m := ROW.match(line):
            case, layout, rows, dim = m[1], f"{m[2]} {m[3]}", int(m[4]), int(m[6])
            run["rows"][(section, case, layout, rows, dim)] = {
                "ms": float(m[8]),
                "gflops": float(m[9]),
                "bound": m[11],
                "efficiency": float(m[12]),
            }
            last_dim = dim
        elif m := AGAINST_ROWS.match(line):
            for item in m[2].split(", "):
                storage, ratio = item.split()
                key = (section, int(m[1]), last_dim, storage)
                run["against_rows"][key] = float(ratio.rstrip("x"))
        elif m := PRUNED.match(line):
            key = (section, m[2], f"{m[3]} x {m[4]} x {m[5]}", int(m[6]))
            run["pruned"][key] = (float(m[7]), float(m[8]), float(m[9]), int(m[10]), int(m[11]))
        elif m := BUILD.match(line):
            key = (section, f"{m[1]} x {m[2]} x {m[3]}", m[4], int(m[7]))
            run["build"][key] = (float(m[5]), float(m[6]))
        elif m := BATCH.match(line):
            run["batch"][(section, int(m[1]), int(m[2]), last_dim)] = float(m[3])
        elif m := TINY.match(line):
            run["tiny"][(section, m[1])] = float(m[4]) / float(m[3])
        elif m := ABOVE.match(line):
            run["above"].append(f"{section[0]}, {section[1]} thread(s): {m[1]}")
        elif m := MEANWHILE.match(line):
            run["meanwhile"] = (float(m[1]), float(m[2]))
    return runs


def spread(values, fmt="{:.1f}", unit=""):
    values = list(values)
    if not values:
        return "-"
    median = statistics.median(values)
    if len(values) == 1:
        return fmt.format(median) + unit
    return f"{fmt.format(median)}{unit} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def collect(runs, field):
    """Key -> the values `field` took across the runs, keys in first-seen order."""
    values = OrderedDict()
    for run in runs:
        for key, value in run[field].items():
            values.setdefault(key, []).append(value)
    return values


def summarize(out, sources):
    lines = []
    say = lines.append
    cpu = cpu_line()
    say("maxsim bench: median across runs (min to max); each run's rows are medians of 5 timings")
    say(cpu)
    above = []
    for name, path in sources:
        runs = parse(path)
        if not runs:
            raise SystemExit(f"{path}: no runs of maxsim bench found")
        commands = {run["command"] for run in runs}
        say("")
        say(f"{name}: {len(runs)} run(s) of `{' / '.join(sorted(commands))}` ({path})")
        meanwhile = [run["meanwhile"] for run in runs if run["meanwhile"]]
        if meanwhile:
            say(
                f"during the runs: other processes at most {max(m[0] for m in meanwhile):.1f}% "
                f"of the CPUs, hypervisor steal at most {max(m[1] for m in meanwhile):.1f}%"
            )
        say("")
        say(f"{'isa':<7} {'threads':>7}  {'FMA peak GFLOP/s':<24} DRAM read GB/s")
        for (isa, threads), values in collect(runs, "limits").items():
            peak = spread((v[0] for v in values))
            bandwidth = spread((v[1] for v in values))
            say(f"{isa:<7} {threads:>7}  {peak:<24} {bandwidth}")
        say("")
        say(
            f"{'isa':<7} {'thr':>3} {'case':<9} {'layout':<10} {'rows':>4} {'dim':>4}  "
            f"{'ms/query':<30} {'GFLOP/s':>7} {'bound':<14} efficiency %"
        )
        for key, values in collect(runs, "rows").items():
            (isa, threads), case, layout, rows, dim = key
            bounds = sorted({v["bound"] for v in values})
            say(
                f"{isa:<7} {threads:>3} {case:<9} {layout:<10} {rows:>4} {dim:>4}  "
                f"{spread((v['ms'] for v in values), '{:.3f}'):<30} "
                f"{statistics.median(v['gflops'] for v in values):>7.1f} "
                f"{'/'.join(bounds):<14} {spread(v['efficiency'] for v in values)}"
            )
        derived = derived_lines(runs)
        if derived:
            say("")
            lines.extend(derived)
        tiny = collect(runs, "tiny")
        if tiny:
            say("")
            say("tiny shapes, the kernel's speedup over the scalar reference (ns per score ratio):")
            by_section = defaultdict(list)
            for (section, shape), values in tiny.items():
                by_section[section].append(f"{shape} {spread(values, '{:.2f}', 'x')}")
            for (isa, threads), items in by_section.items():
                say(f"  {isa}, {threads} thread(s): " + ", ".join(items[:4]))
                if items[4:]:
                    say("    " + ", ".join(items[4:]))
        for index, run in enumerate(runs, 1):
            above += [f"{name} run {index}: {row}" for row in run["above"]]
    say("")
    if above:
        say(f"rows above 100% of their bound ({len(above)}; the bench prints why under each):")
        lines.extend(f"  {row}" for row in above)
    else:
        say("rows above 100% of their bound: none in any run")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


def derived_lines(runs):
    """Ratios taken within each run, then summarized across runs."""
    lines = []
    batch = collect(runs, "batch")
    for ((isa, threads), size, rows, dim), values in batch.items():
        lines.append(
            f"batch of {size} x {rows} rows (dim {dim}), {isa}, {threads} thread(s): "
            f"{spread(values, '{:.2f}', 'x')} the throughput of {size} single queries"
        )
    scaling = defaultdict(list)
    top10 = defaultdict(list)
    for run in runs:
        for ((isa, threads), case, layout, rows, dim), row in run["rows"].items():
            if case == "resident" and threads > 1:
                one = run["rows"].get(((isa, 1), case, layout, rows, dim))
                if one:
                    scaling[(isa, threads, layout, rows, dim)].append(one["ms"] / row["ms"])
            if case == "top10":
                corpus = run["rows"].get(((isa, threads), "corpus", layout, rows, dim))
                if corpus:
                    top10[(isa, threads, rows, dim)].append(row["ms"] / corpus["ms"])
    for (isa, threads, layout, rows, dim), values in scaling.items():
        lines.append(
            f"resident, {layout}, {rows} rows (dim {dim}), {isa}: {threads} threads "
            f"{spread(values, '{:.2f}', 'x')} as fast as 1"
        )
    for (isa, threads, rows, dim), values in top10.items():
        lines.append(
            f"top10 against scoring every document, {rows} rows (dim {dim}), {isa}, "
            f"{threads} thread(s): {spread(values, '{:.2f}', 'x')} the time"
        )
    against = collect(runs, "against_rows")
    by_section = defaultdict(list)
    for ((isa, threads), rows, dim, storage), values in against.items():
        by_section[(isa, threads, dim, rows)].append(f"{storage} {spread(values, '{:.2f}', 'x')}")
    for (isa, threads, dim, rows), items in by_section.items():
        lines.append(
            f"index against rows, resident, {rows} rows (dim {dim}), {isa}, {threads} thread(s): "
            + ", ".join(items)
            + " the speed"
        )
    for ((isa, threads), data, shape, rows), values in collect(runs, "pruned").items():
        lines.append(
            f"pruned top-10, {data} {shape}, {rows} rows, {isa}, {threads} thread(s): "
            f"{spread((v[2] for v in values), '{:.2f}', 'x')} faster than the full scan "
            f"({spread((v[1] for v in values), '{:.2f}', ' ms')} against "
            f"{spread((v[0] for v in values), '{:.2f}', ' ms')}), "
            f"{spread((v[3] for v in values), '{:.0f}')} of {values[0][4]} rescored"
        )
    for ((isa, threads), shape, storage, rows), values in collect(runs, "build").items():
        lines.append(
            f"index build, {shape} f32 to {storage}, {isa}, {threads} thread(s): "
            f"{spread((v[0] for v in values), '{:.1f}', ' ms')}, "
            f"{spread((v[1] for v in values), '{:.2f}', 'x')} one scan by a {rows}-row query"
        )
    return lines


def cpu_line():
    fields = {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        count = sum(1 for line in open("/proc/cpuinfo") if line.startswith("processor"))
    except OSError:
        return "cpu: unknown"
    virtual = ", virtual machine" if "hypervisor" in fields.get("flags", "").split() else ""
    return (
        f"cpu: {fields.get('model name', 'unknown')} (family {fields.get('cpu family', '?')}, "
        f"model {fields.get('model', '?')}), {count} logical CPUs{virtual}"
    )


def main(argv):
    if len(argv) >= 2 and argv[1] == "readme" and argv[2:] in ([], ["--check"]):
        return readme(argv[2:] == ["--check"])
    if argv[1:] == ["idle"]:
        return idle()
    if len(argv) >= 4 and argv[1] == "measure":
        return measure(argv[2], argv[3:])
    if len(argv) >= 4 and argv[1] == "summarize":
        sources = [tuple(arg.split("=", 1)) for arg in argv[3:]]
        if all(len(source) == 2 for source in sources):
            summarize(argv[2], sources)
            return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
