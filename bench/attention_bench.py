"""`make bench`: course_lib's tiled attention against PyTorch's and against the readable one.

Prints, for float32 at (batch·heads, T, d) = (8, 512, 64), (8, 2048, 64) and (1, 4096, 64),
causal and not: the median time of ``course_lib.tiled.tiled_attention``, its ratio to
``torch.nn.functional.scaled_dot_product_attention`` (same number of CPU threads) and to the
readable ``course_lib.scaled_dot_product_attention``, its GFLOP/s (4·B·T²·d floating-point
operations, causal or not) and their fraction of this machine's float32 matrix-multiply
peak (the best rate of a 2048² product timed between the runs, with the same threads), and
its peak extra memory. Then the memory at T = 16384; then, where CuPy finds a GPU, the same
on the GPU against PyTorch's CUDA kernel; then each target of issue 11 and whether it is met.

Figures only: it asserts nothing, and exits 0 unless it crashes. The runs of a case are
interleaved, so that a machine busy with other work slows every contender alike; the load
average and the share of the CPUs that other processes took are printed. Knobs (environment):
BENCH_REPEAT (default 7) timed runs per case, BENCH_THREADS (default: the CPUs this process
may use) threads for PyTorch, BLAS and the peak; the tiled CPU loop uses one worker per usable CPU.
"""

from __future__ import annotations

import csv
import datetime
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy
import threadpoolctl

import course_lib as cl
from course_lib import backend
from course_lib.tiled import _worker_count, tiled_attention

try:
    import torch
except ImportError:  # `make bench` installs it (the bench extra); without it the PyTorch columns stay empty
    torch = None

SHAPES = [(8, 512, 64), (8, 2048, 64), (1, 4096, 64)]  # (batch·heads, T, d)
LONG = (1, 16384, 64)  # the memory line: its float32 score matrix alone would be 1 GiB
REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))
READABLE_REPEAT = max(1, min(REPEAT, 3))  # the readable one is slow and holds B·T² scores: fewer runs
THREADS = int(os.environ.get("BENCH_THREADS", "0")) or _worker_count()
MIB = 1 << 20


def flops(batch: int, t: int, d: int) -> float:
    """Q Kᵀ and P V: 2·T·T·d each, per (batch, head); the count for causal too (the issue's convention)."""
    return 4.0 * batch * t * t * d


def run_times(functions: dict, repeat: int, sync=lambda: None) -> dict[str, list[float]]:
    """Seconds of each run of each function: one warm-up call each, then the runs interleaved
    (the machine's load drifts; interleaved, every function meets the same)."""
    times = {name: [] for name in functions}
    for f in functions.values():
        f()
        sync()
    for run in range(repeat):
        for name, f in functions.items():
            if name == "readable" and run >= READABLE_REPEAT:
                continue
            sync()
            start = time.perf_counter()
            f()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def summary(times: dict[str, list[float]]) -> dict[str, float]:
    """The median seconds of each function (``name``) and the best (``name_best``)."""
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {**medians, **{f"{name}_best": min(t) for name, t in times.items()}}


def matmul() -> None:
    """The float32 matrix product that measures the peak: 2048 × 2048 by 2048 × 2048 (2·2048³ flops)."""
    _PEAK_MATRIX @ _PEAK_MATRIX


_PEAK_MATRIX = numpy.random.default_rng(0).standard_normal((2048, 2048), dtype=numpy.float32)
PEAK_FLOPS = 2.0 * 2048**3


def traced_peak_mib(f) -> float:
    """Peak of the NumPy memory allocated while f runs (tracemalloc sees NumPy's allocations), in MiB."""
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def inputs(shape, xp=numpy):
    rng = numpy.random.default_rng(1)
    return [xp.asarray(rng.standard_normal(shape, dtype=numpy.float32)) for _ in range(3)]


def cpu_rows() -> tuple[list[dict], list[float]]:
    """One row per case (median seconds, memory), and every matmul rate (GFLOP/s) measured among them."""
    rows, rates = [], []
    for shape in SHAPES:
        q, k, v = inputs(shape)
        for causal in (False, True):
            functions = {
                "tiled": lambda: tiled_attention(q, k, v, causal=causal),
                "readable": lambda: cl.scaled_dot_product_attention(q, k, v, causal=causal),
                "matmul": matmul,
            }
            if torch is not None:
                tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
                functions["torch"] = lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
            times = run_times(functions, REPEAT)
            rates += [PEAK_FLOPS / t / 1e9 for t in times.pop("matmul")]
            memory = traced_peak_mib(lambda: tiled_attention(q, k, v, causal=causal))
            rows.append({"shape": shape, "causal": causal, "memory": memory, **summary(times)})
            print(f"  measured {shape}, causal={causal}", file=sys.stderr, flush=True)
    return rows, rates


HEADER = (
    f"{'(B·H, T, d)':<16} {'causal':<6} {'tiled ms':>9} {'PyTorch ms':>11} {'×PyTorch':>9} "
    f"{'readable ms':>12} {'×readable':>10} {'GFLOP/s':>8} {'of peak':>8} {'memory MiB':>11}"
)


def print_row(row: dict, peak: float | None) -> None:
    rate = flops(*row["shape"]) / row["tiled"] / 1e9
    torch_ms = f"{row['torch'] * 1e3:11.1f}" if "torch" in row else f"{'—':>11}"
    versus = f"{row['tiled'] / row['torch']:8.2f}×" if "torch" in row else f"{'—':>9}"
    readable_ms = f"{row['readable'] * 1e3:12.1f}" if "readable" in row else f"{row.get('readable_note', '—'):>12}"
    versus_readable = f"{row['tiled'] / row['readable']:9.2f}×" if "readable" in row else f"{'—':>10}"
    of_peak = f"{rate / peak:8.0%}" if peak else f"{'—':>8}"
    memory = f"{row['memory']:11.1f}" if row.get("memory") is not None else f"{'—':>11}"
    print(
        f"{str(row['shape']):<16} {'yes' if row['causal'] else 'no':<6} {row['tiled'] * 1e3:9.1f} {torch_ms} {versus} "
        f"{readable_ms} {versus_readable} {rate:8.1f} {of_peak} {memory}",
        flush=True,
    )


def long_memory() -> tuple[float, float, float]:
    """(seconds, tracemalloc peak MiB, ru_maxrss growth MiB in a fresh process) at T = 16384, d = 64."""
    q, k, v = inputs(LONG)
    start = time.perf_counter()
    tiled_attention(q, k, v)
    seconds = time.perf_counter() - start
    traced = traced_peak_mib(lambda: tiled_attention(q, k, v))
    script = textwrap.dedent(f"""
        import resource, sys, numpy
        from course_lib.tiled import tiled_attention

        def peak_rss_mib():
            try:  # Linux: this process's own high-water mark (ru_maxrss would carry the parent's across exec)
                with open("/proc/self/status") as status:
                    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
            except OSError:
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)  # macOS: bytes

        rng = numpy.random.default_rng(1)
        q, k, v = (rng.standard_normal({LONG}, dtype=numpy.float32) for _ in range(3))
        tiled_attention(q[:, :512], k[:, :512], v[:, :512])  # libraries and threads started
        before = peak_rss_mib()
        tiled_attention(q, k, v)
        print(peak_rss_mib() - before)
    """)
    rss = float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    return seconds, traced, rss


def gpu_rows() -> list[dict] | str:
    """The same shapes on the GPU: CuPy readable and tiled, PyTorch CUDA; or why there is no GPU part."""
    previous = backend.name()
    try:
        cupy = backend.use("cupy")
    except backend.BackendUnavailableError as err:
        return str(err).split(". ")[0]
    try:
        use_torch = torch is not None and torch.cuda.is_available()

        def sync():
            cupy.cuda.Device().synchronize()  # the whole device: CuPy's and PyTorch's streams alike

        print(HEADER)
        rows = []
        for shape in SHAPES + [LONG]:
            q, k, v = inputs(shape, cupy)
            for causal in (False, True):
                functions = {"tiled": lambda: tiled_attention(q, k, v, causal=causal)}
                row = {"shape": shape, "causal": causal, "memory": None}
                if shape != LONG:  # the readable one would hold 1 GiB of scores, several times over
                    functions["readable"] = lambda: cl.scaled_dot_product_attention(q, k, v, causal=causal)
                else:
                    row["readable_note"] = "(skipped)"
                if use_torch:
                    tq, tk, tv = (torch.from_dlpack(x) for x in (q, k, v))
                    functions["torch"] = lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
                row.update(summary(run_times(functions, REPEAT, sync)))
                rows.append(row)
                print_row(row, None)
        return rows
    finally:
        backend.use(previous)


GPU_FIGURES = pathlib.Path(__file__).with_name("gpu_figures.csv")  # shown by notebook 13


def record_gpu_figures(rows: list[dict]) -> None:
    """Append this run's GPU medians to bench/gpu_figures.csv, with the device and the date, for notebook 13."""
    import cupy

    device = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode().replace(",", " ")
    today = datetime.date.today().isoformat()
    with GPU_FIGURES.open("a", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        for row in rows:
            ms = {name: f"{row[name] * 1e3:.2f}" if name in row else "" for name in ("readable", "tiled", "torch")}
            writer.writerow([device, today, "x".join(map(str, row["shape"])), "yes" if row["causal"] else "no",
                             ms["readable"], ms["tiled"], ms["torch"]])
    print(f"  recorded in {GPU_FIGURES.name} (commit it: notebook 13 shows it)")


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def targets(rows: list[dict], peak: float, long_mib: float) -> None:
    """Each target of issue 11, met or not, judged on the medians; beside it, in brackets, the same
    figure from the best runs (what the code does when nothing else runs). The share of the peak
    is of the best matmul rate."""
    print("\nTargets (issue 11; float32, the CPU threads above; [best runs]):")
    if torch is None:
        print("  time against PyTorch: PyTorch is not installed (make bench installs it)")
    for row in rows:
        if "torch" not in row:
            continue
        limit = 1.0 if row["shape"][1] <= 512 else 0.5
        ratio, best = row["tiled"] / row["torch"], row["tiled_best"] / row["torch_best"]
        print(f"  {case(row)} ≤ {limit:.1f}× PyTorch: {ratio:.2f}× — {verdict(ratio <= limit)} [{best:.2f}×]")
    for row in rows:
        if row["shape"][1] >= 2048 and not row["causal"]:
            share, best = (flops(*row["shape"]) / row[key] / 1e9 / peak for key in ("tiled", "tiled_best"))
            print(f"  {case(row)} ≥ 40 % of the matmul peak: {share:.0%} — {verdict(share >= 0.40)} [{best:.0%}]")
    full = {row["shape"]: row for row in rows if not row["causal"]}
    for row in rows:
        if row["shape"][1] == 4096 and row["causal"]:
            ratio, best = (row[key] / full[row["shape"]][key] for key in ("tiled", "tiled_best"))
            print(f"  {case(row)} ≤ 0.6× the full time: {ratio:.2f}× — {verdict(ratio <= 0.6)} [{best:.2f}×]")
    print(f"  {str(LONG):<16} full   peak extra memory ≤ 32 MiB: {long_mib:.1f} MiB — {verdict(long_mib <= 32)}")


def case(row: dict) -> str:
    return f"{str(row['shape']):<16} {'causal' if row['causal'] else 'full':<6}"


def cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds all processes have used, CPU seconds this one and its children have), or None off Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]  # user nice system idle iowait irq softirq steal ...
    except (OSError, ValueError):
        return None
    busy = sum(fields[:8]) - fields[3] - fields[4]  # everything but idle and iowait
    mine = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), mine.user + mine.system + mine.children_user + mine.children_system


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = ", ".join(
        f"{lib['internal_api']} {lib.get('version') or ''} {lib.get('architecture') or ''}".strip()
        for lib in threadpoolctl.threadpool_info()
        if lib["user_api"] == "blas"
    )
    return (
        f"{datetime.date.today()}  {cpu}, {os.cpu_count()} CPUs ({THREADS} used)  Python {platform.python_version()}  "
        f"NumPy {numpy.__version__} ({blas})  PyTorch {torch.__version__ if torch else 'not installed'}"
    )


def main() -> None:
    if torch is not None:
        torch.set_num_threads(THREADS)
    print(f"Attention benchmark — {machine()}")
    start, cpu_start = time.perf_counter(), cpu_seconds()
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {REPEAT} runs per case, medians")
    with threadpoolctl.threadpool_limits(limits=THREADS, user_api="blas"):  # the readable one and the peak
        rows, rates = cpu_rows()
        seconds, traced, rss = long_memory()
    peak = max(rates)
    print(
        f"float32 matmul peak ({THREADS} BLAS threads, 2048², measured between the runs below): "
        f"{peak:.0f} GFLOP/s best, {statistics.median(rates):.0f} median\n"
    )
    print("CPU, float32; GFLOP/s counts 4·B·T²·d, causal or not; of peak: of the best matmul rate")
    print(HEADER)
    for row in rows:
        print_row(row, peak)
    print(
        f"\nT = 16384, d = 64 (one head), full: {seconds:.2f} s; peak extra memory {traced:.1f} MiB (tracemalloc), "
        f"{rss:.1f} MiB (growth of the peak resident size, fresh process); the score matrix alone would be "
        f"{LONG[1] ** 2 * 4 / MIB:.0f} MiB"
    )
    print("\nGPU, float32 (CuPy; PyTorch CUDA where it has CUDA)")
    gpu = gpu_rows()
    if isinstance(gpu, str):
        print(f"  skipped: {gpu}")
    else:
        record_gpu_figures(gpu)
    targets(rows, peak, traced)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cpu_end = cpu_seconds()
    if cpu_start and cpu_end:
        others = (cpu_end[0] - cpu_start[0]) - (cpu_end[1] - cpu_start[1])
        share = max(0.0, others) / ((time.perf_counter() - start) * (os.cpu_count() or 1))
        print(f"other processes used {share:.0%} of the CPUs while this ran: the medians are only as good as that is small")


if __name__ == "__main__":
    main()
