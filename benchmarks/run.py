"""Time every cart19 command against polars' bare read of the same file, in one run.

    python benchmarks/run.py                      # 10k, 100k and 1M subjects
    python benchmarks/run.py --subjects 10000 100000 --repeat 3 --markdown benchmarks/RESULTS.md

For each size it writes a synthetic trial with `cart19 simulate` (cached under
benchmarks/data/), then runs, each in a fresh process:

* the physical limit: `python -c "import polars; polars.read_csv(FILE, infer_schema=False)"`;
* `cart19 validate`, `derive`, `teae`, `check-dlt` on the file, and `km` on derive's output;
* start-up: `python -c pass`, `cart19 --help`, and `cart19 derive examples/events.csv`.

It reports wall time (best of --repeat), the ratio to the bare read of the same file, and the
peak resident memory of that process (from wait4's rusage). Machines here are shared and noisy:
read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
PY = sys.executable
CART19 = [PY, "-m", "cart19"]


def run_once(argv: list[str], stdout_path: Path | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one process, stdout to a file or /dev/null."""
    import tempfile

    out = open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb")  # noqa: SIM115
    err = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child must never block on it
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out.close()
    err.seek(0)
    stderr = err.read()[-4000:].decode("utf-8", "replace")
    err.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        raise SystemExit(f"{' '.join(argv)} failed with {code}:\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024


def best_of(argv: list[str], repeat: int, stdout_path: Path | None = None) -> tuple[float, float]:
    runs = [run_once(argv, stdout_path) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def ensure_data(subjects: int, seed: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"trial-{subjects}-{seed}.csv"
    if not path.exists():
        print(f"  simulating {subjects:,} subjects ...", file=sys.stderr, flush=True)
        run_once([*CART19, "simulate", "--subjects", str(subjects), "--seed", str(seed), "-o", str(path)])
    return path


def count_rows(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) - 1


def bench_size(subjects: int, repeat: int, seed: int) -> list[dict]:
    path = ensure_data(subjects, seed)
    rows = count_rows(path)
    adtte = DATA / f"adtte-{subjects}-{seed}.csv"
    read_code = f"import polars as pl; pl.read_csv({str(path)!r}, infer_schema=False)"
    base_s, base_mb = best_of([PY, "-c", read_code], repeat)
    results = [dict(subjects=subjects, rows=rows, command="polars read_csv (baseline)", seconds=base_s,
                    ratio=1.0, peak_mib=base_mb)]  # fmt: skip
    commands = [
        ("validate", [*CART19, "validate", str(path), "--format", "json"], None),
        ("derive", [*CART19, "derive", str(path), "--format", "csv"], adtte),
        ("teae", [*CART19, "teae", str(path), "--format", "csv"], None),
        ("check-dlt", [*CART19, "check-dlt", str(path), "--format", "json"], None),
    ]
    for name, argv, out in commands:
        seconds, peak = best_of(argv, repeat, out)
        results.append(dict(subjects=subjects, rows=rows, command=name, seconds=seconds,
                            ratio=seconds / base_s, peak_mib=peak))  # fmt: skip
        print(f"  {subjects:>9,} {name:<10} {seconds:8.2f}s  {seconds / base_s:5.2f}x  {peak:8.0f} MiB",
              file=sys.stderr, flush=True)  # fmt: skip
    seconds, peak = best_of([*CART19, "km", str(adtte), "--format", "csv"], repeat)
    results.append(dict(subjects=subjects, rows=rows, command="km (on derive's output)", seconds=seconds,
                        ratio=seconds / base_s, peak_mib=peak))  # fmt: skip
    return results


def bench_startup(repeat: int) -> list[dict]:
    base, _ = best_of([PY, "-c", "pass"], repeat)
    rows = [dict(command="python -c pass", seconds=base, ratio=1.0)]
    for label, argv in [
        ("cart19 --help", [*CART19, "--help"]),
        ("cart19 derive examples/events.csv", [*CART19, "derive", "examples/events.csv", "--format", "csv"]),
    ]:
        seconds, _ = best_of(argv, repeat)
        rows.append(dict(command=label, seconds=seconds, ratio=seconds / base))
    return rows


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    mem_kib = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    import polars

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"{mem_kib / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}, polars {polars.__version__}")  # fmt: skip


def markdown(sizes: list[dict], startup: list[dict], repeat: int) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}.",
        f"Run: `python benchmarks/run.py` on {time.strftime('%Y-%m-%d')}, best of {repeat} per cell, each command "
        "in a fresh process (start-up included). Ratio = time / polars' bare `read_csv` of the same file "
        "in a fresh process. Peak = the process's maximum resident memory.",
        "",
        "| subjects | rows | command | seconds | ratio to bare read | peak MiB |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for r in sizes:
        lines.append(f"| {r['subjects']:,} | {r['rows']:,} | {r['command']} | {r['seconds']:.2f} | "
                     f"{r['ratio']:.2f}x | {r['peak_mib']:.0f} |")  # fmt: skip
    by_command: dict[str, list[dict]] = {}
    for r in sizes:
        by_command.setdefault(r["command"], []).append(r)
    lines += ["", "Scaling (time ratio between consecutive sizes; 10x subjects, ideally about 10x):", ""]
    for name, rows in by_command.items():
        steps = [f"{b['seconds'] / a['seconds']:.1f}x" for a, b in zip(rows, rows[1:], strict=False)]
        if steps:
            lines.append(f"- {name}: {', '.join(steps)}")
    lines += ["", "Start-up (multiples of a bare `python -c pass`):", "", "| command | seconds | multiple |",
              "|---|---:|---:|"]  # fmt: skip
    for r in startup:
        lines.append(f"| `{r['command']}` | {r['seconds']:.3f} | {r['ratio']:.1f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--markdown", type=Path, help="write the results table here")
    parser.add_argument("--clean", action="store_true", help="delete the generated data afterwards")
    args = parser.parse_args()
    sizes = []
    for n in args.subjects:
        print(f"{n:,} subjects", file=sys.stderr, flush=True)
        sizes.extend(bench_size(n, args.repeat, args.seed))
    startup = bench_startup(max(args.repeat, 5))
    text = markdown(sizes, startup, args.repeat)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.clean:
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
