"""Time every cart19 command against polars' bare read of the same file, in one run.

    python benchmarks/run.py                      # 10k, 100k and 1M subjects
    python benchmarks/run.py --subjects 10000 100000 --repeat 3 --markdown benchmarks/RESULTS.md

For each size it writes a synthetic trial with `cart19 simulate` (cached under
benchmarks/data/), then runs, each in a fresh process:

* the physical limit: `python -c "import polars; polars.read_csv(FILE, infer_schema=False)"`;
* every command of `_commands` below on the file (validate, derive, teae, check-dlt, response, cuminc,
  safety, adam, tables, plot swimmer/km/cuminc, report, ...), and `km` on derive's output;
* subgroups: a subject file with a 20-level covariate (written here with polars), `check-dlt
  --by`, and `km --by` on the output of `derive --subjects`;
* start-up: `python -c pass`, `cart19 --help`, and `cart19 derive examples/events.csv`;
* the same trial as an SDTM folder of XPT files (examples/make_sdtm.py; at 100k subjects by
  default, `--sdtm SIZES`): `cart19 events` and `derive` on it, against pyreadstat's bare read;
  `cart19 adam` on it (every ADaM dataset) as XPT, Parquet and Dataset-JSON, each against
  polars' bare read of the equivalent event CSV (issue 17's goal: within 5x), and, against the
  same read, pyreadstat's bare read of only the variables the mapping reads (cart19's floor:
  no SDTM command can read its XPT files faster).

It reports wall time (the median of --repeat runs, each command run alternately with the bare
read of the same file, so that both see the same machine), the ratio of the two medians, and the
peak resident memory of that process (from wait4's rusage). Machines here are shared and noisy:
read the ratios, not the seconds. cart19's own modules are byte-compiled first, as
`pip install .` leaves them (an editable install under PYTHONDONTWRITEBYTECODE=1 would compile
them at every start).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: --only: the commands to time (empty: all)
ONLY: set[str] = set()
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


def median_of(argv: list[str], repeat: int, stdout_path: Path | None = None) -> tuple[float, float]:
    """(median seconds, highest peak MiB) of ``repeat`` runs of one command."""
    runs = [run_once(argv, stdout_path) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def paired(argv: list[str], base: list[str], repeat: int, stdout_path: Path | None = None) -> dict:
    """A command against its baseline, run alternately (baseline, command, baseline, ...) so that
    both see the same machine: the median of each, their ratio, the command's highest peak."""
    runs, bases = [], []
    for _ in range(repeat):
        bases.append(run_once(base)[0])
        runs.append(run_once(argv, stdout_path))
    seconds, base_s = statistics.median(r[0] for r in runs), statistics.median(bases)
    return dict(seconds=seconds, base=base_s, ratio=seconds / base_s, peak_mib=max(r[1] for r in runs))


def ensure_data(subjects: int, seed: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"trial-{subjects}-{seed}.csv"
    if not path.exists():
        print(f"  simulating {subjects:,} subjects ...", file=sys.stderr, flush=True)
        run_once([*CART19, "simulate", "--subjects", str(subjects), "--seed", str(seed), "-o", str(path)])
    return path


#: The levels of the benchmark's covariate.
LEVELS = 20


def ensure_subjects(events: Path) -> Path:
    """A subject file for ``events``: every subject, a covariate ``cohort`` with 20 levels."""
    import polars as pl

    path = events.with_name(events.stem + "-subjects.csv")
    if not path.exists():
        ids = pl.scan_csv(events, infer_schema=False).select("subject_id").unique().sort("subject_id").collect()
        ids.with_columns(
            pl.format("C{}", (pl.int_range(pl.len()) % LEVELS + 1).cast(pl.String).str.zfill(2)).alias("cohort"),
            pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("prior_hsct"),
        ).write_csv(path)
    return path


def _by_commands(path: Path, subjects: Path, adtte_by: Path) -> list[tuple[str, list[str], Path | None]]:
    """The subgroup commands: ``derive --subjects`` (its output feeds ``km --by``), ``km --by``
    and ``check-dlt --by``, in this order."""
    return [
        ("derive --subjects", [*CART19, "derive", str(path), "--subjects", str(subjects), "--format", "csv"], adtte_by),
        ("km --by", [*CART19, "km", str(adtte_by), "--by", "cohort", "--format", "csv"], None),
        ("check-dlt --by", [*CART19, "check-dlt", str(path), "--subjects", str(subjects), "--by", "cohort",
                            "--format", "json"], None),
    ]  # fmt: skip


def count_rows(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) - 1


def bench_fixed(repeat: int) -> dict[str, float]:
    """Each command's time on the bundled 15-patient example: its fixed cost (start-up, imports),
    which the scaling figures take off (a command is linear when its time above this is)."""
    example = ROOT / "examples" / "events.csv"
    adtte = DATA / "adtte-example.csv"
    fixed = {}
    for name, argv, out in _commands(example, adtte):
        fixed[name] = median_of(argv, max(repeat, 3), out)[0]
    fixed["km (on derive's output)"] = median_of([*CART19, "km", str(adtte), "--format", "csv"], max(repeat, 3))[0]
    for name, argv, out in _by_commands(example, ROOT / "examples" / "subjects.csv", DATA / "adtte-by-example.csv"):
        fixed[name] = median_of(argv, max(repeat, 3), out)[0]
    fixed["polars read_csv (baseline)"] = median_of([PY, "-c", _read_code(example)], max(repeat, 3))[0]
    return fixed


def _read_code(path: Path) -> str:
    return f"import polars as pl; pl.read_csv({str(path)!r}, infer_schema=False)"


def _commands(path: Path, adtte: Path) -> list[tuple[str, list[str], Path | None]]:
    return [
        ("validate", [*CART19, "validate", str(path), "--format", "json"], None),
        ("derive", [*CART19, "derive", str(path), "--format", "csv"], adtte),
        ("teae", [*CART19, "teae", str(path), "--format", "csv"], None),
        ("check-dlt", [*CART19, "check-dlt", str(path), "--format", "json"], None),
        ("response", [*CART19, "response", str(path), "--format", "csv"], None),
        ("adam", [*CART19, "adam", str(path), "-o", str(adtte.with_name(f"{adtte.stem}-adam")), "--format", "xpt"],
         None),
        ("adam (json)", [*CART19, "adam", str(path), "-o", str(adtte.with_name(f"{adtte.stem}-adam")), "--format",
                         "json"], None),
        ("tables", [*CART19, "tables", str(path), "-o", str(DATA / f"tables-{path.stem}.rtf"), "-q"], None),
        ("cuminc", [*CART19, "cuminc", str(path), "--format", "csv"], None),
        ("cuminc --dataset", [*CART19, "cuminc", str(path), "--dataset", "--format", "csv"], None),
        ("safety", [*CART19, "safety", str(path), "--format", "csv"], None),
        # the figures and the handout: what a person can read, in bounded memory
        ("plot swimmer", [*CART19, "plot", "swimmer", str(path), "-o", str(DATA / "swimmer.png"), "-q"], None),
        ("plot km", [*CART19, "plot", "km", str(path), "-o", str(DATA / "km.png"), "-q"], None),
        ("plot cuminc", [*CART19, "plot", "cuminc", str(path), "-o", str(DATA / "cuminc.png"), "-q"], None),
        ("report", [*CART19, "report", str(path), "-o", str(DATA / "report.html"), "-q"], None),
    ]


def bench_size(subjects: int, repeat: int, seed: int) -> list[dict]:
    path = ensure_data(subjects, seed)
    rows = count_rows(path)
    adtte = DATA / f"adtte-{subjects}-{seed}.csv"
    base = [PY, "-c", _read_code(path)]
    base_s, base_mb = median_of(base, repeat)
    results = [dict(subjects=subjects, rows=rows, command="polars read_csv (baseline)", seconds=base_s,
                    ratio=1.0, peak_mib=base_mb)]  # fmt: skip
    adtte_by = DATA / f"adtte-by-{subjects}-{seed}.csv"
    commands = [*_commands(path, adtte), ("km (on derive's output)", [*CART19, "km", str(adtte), "--format", "csv"], None),
                *_by_commands(path, ensure_subjects(path), adtte_by)]  # fmt: skip
    for name, argv, out in commands:
        if ONLY and name not in ONLY and out is None:  # (a command whose output feeds another always runs)
            continue
        cell = paired(argv, base, repeat, out)
        results.append(dict(subjects=subjects, rows=rows, command=name, **cell))
        print(f"  {subjects:>9,} {name:<24} {cell['seconds']:8.2f}s  {cell['ratio']:5.2f}x (bare read "
              f"{cell['base']:.2f}s)  {cell['peak_mib']:8.0f} MiB", file=sys.stderr, flush=True)  # fmt: skip
    return results


def ensure_sdtm(subjects: int, seed: int) -> Path:
    """The simulated trial as an SDTM folder of XPT v5 files (examples/make_sdtm.py)."""
    folder = DATA / f"sdtm-{subjects}-{seed}"
    if not (folder / "dm.xpt").exists():
        print(f"  writing {subjects:,} subjects as SDTM XPT ...", file=sys.stderr, flush=True)
        run_once([PY, str(ROOT / "examples" / "make_sdtm.py"), str(ensure_data(subjects, seed)), str(folder)])
    return folder


def _needed_columns(folder: Path) -> dict[str, list[str]]:
    """Per XPT file of the folder, the variables cart19's mapping reads (as the file spells
    them), as ``cart19.io.sdtm`` chooses them with the default configuration."""
    import pyreadstat

    from cart19.config import SDTMConfig
    from cart19.io.sdtm.mapping import variables

    used = variables(SDTMConfig())
    needed = {}
    for path in sorted(folder.glob("*.xpt")):
        _, meta = pyreadstat.read_xport(str(path), output_format="polars", metadataonly=True)
        wanted = used.get(path.stem.upper(), set())
        needed[str(path)] = [name for name in meta.column_names if name.strip().upper() in wanted]
    return needed


def bench_sdtm(subjects: int, repeat: int, seed: int) -> list[dict]:
    """Reading an SDTM folder (XPT): `events` and `derive` on it, against pyreadstat's bare read
    of every domain file (the physical limit for XPT, as polars' read_csv is for the event file);
    `adam` on it in three formats against polars' bare read of the equivalent event CSV, and
    pyreadstat's bare read of the needed variables against the same."""
    folder = ensure_sdtm(subjects, seed)
    events_csv = ensure_data(subjects, seed)
    rows = count_rows(events_csv)
    results = []

    def wanted(name: str) -> bool:
        return not ONLY or name in ONLY

    if wanted(PYREADSTAT_ALL) or wanted("events (SDTM XPT folder)") or wanted("derive (SDTM XPT folder)"):
        code = f"import glob, pyreadstat; [pyreadstat.read_xport(f, output_format='polars') for f in glob.glob({str(folder / '*.xpt')!r})]"
        base_s, base_mb = median_of([PY, "-c", code], repeat)
        results.append(dict(subjects=subjects, rows=rows, command=PYREADSTAT_ALL, seconds=base_s, ratio=1.0,
                            peak_mib=base_mb))  # fmt: skip
        for name, argv in [("events (SDTM XPT folder)", [*CART19, "events", str(folder), "--format", "csv", "--quiet"]),
                           ("derive (SDTM XPT folder)", [*CART19, "derive", str(folder), "--format", "csv", "--quiet"])]:  # fmt: skip
            if not wanted(name):
                continue
            seconds, peak = median_of(argv, repeat)
            results.append(dict(subjects=subjects, rows=rows, command=name, seconds=seconds, ratio=seconds / base_s,
                                peak_mib=peak))  # fmt: skip
            print(f"  {subjects:>9,} {name:<10} {seconds:8.2f}s  {seconds / base_s:5.2f}x  {peak:8.0f} MiB",
                  file=sys.stderr, flush=True)  # fmt: skip
    # issue 17: the whole submission from SDTM (every ADaM dataset), and the floor under it,
    # against polars' bare read of the equivalent event CSV, each run alternately with it
    csv_read = [PY, "-c", _read_code(events_csv)]
    needed = ("import pyreadstat; [pyreadstat.read_xport(f, output_format='polars', usecols=c) for f, c in "
              f"{_needed_columns(folder)!r}.items()]")  # fmt: skip
    out = DATA / f"adam-sdtm-{subjects}-{seed}"
    timed = [(PYREADSTAT_NEEDED, [PY, "-c", needed])]
    timed += [(name, [*CART19, "adam", str(folder), "-o", f"{out}-{fmt}", "--format", fmt, "-q"])
              for fmt, name in ADAM_SDTM.items()]  # fmt: skip
    for name, argv in timed:
        if not wanted(name):
            continue
        cell = paired(argv, csv_read, repeat)
        results.append(dict(subjects=subjects, rows=rows, command=name, **cell))
        print(f"  {subjects:>9,} {name:<10} {cell['seconds']:8.2f}s  {cell['ratio']:5.2f}x (bare read of the event "
              f"CSV {cell['base']:.2f}s)  {cell['peak_mib']:8.0f} MiB", file=sys.stderr, flush=True)  # fmt: skip
    return results


#: The SDTM rows: pyreadstat's bare read of every variable of the folder's XPT files (the
#: baseline of ``events`` and ``derive`` on the folder) and of the mapping's variables only.
PYREADSTAT_ALL = "pyreadstat read_xport of the SDTM folder (baseline)"
PYREADSTAT_NEEDED = ("pyreadstat read_xport of the SDTM folder, the mapping's variables only (ratio to polars' read "
                     "of the event CSV)")  # fmt: skip
#: The rows of `adam` on the SDTM folder by format (their ratio is to polars' read of the event CSV).
ADAM_SDTM = {fmt: f"adam --format {fmt} (SDTM XPT folder; ratio to polars' read of the event CSV)"
             for fmt in ("xpt", "parquet", "json")}  # fmt: skip


def sdtm_rows() -> set[str]:
    """The names of the rows :func:`bench_sdtm` may time (for ``--only``)."""
    return {PYREADSTAT_ALL, "events (SDTM XPT folder)", "derive (SDTM XPT folder)", PYREADSTAT_NEEDED,
            *ADAM_SDTM.values()}  # fmt: skip


def bench_startup(repeat: int) -> list[dict]:
    base, _ = median_of([PY, "-c", "pass"], repeat)
    rows = [dict(command="python -c pass", seconds=base, ratio=1.0)]
    for label, argv in [
        ("cart19 --help", [*CART19, "--help"]),
        ("cart19 derive examples/events.csv", [*CART19, "derive", "examples/events.csv", "--format", "csv"]),
    ]:
        seconds, _ = median_of(argv, repeat)
        rows.append(dict(command=label, seconds=seconds, ratio=seconds / base))
    return rows


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                capture_output=True, text=True).stdout.splitlines()  # fmt: skip
        dirty = [line for line in status if not line.endswith("benchmarks/RESULTS.md")]  # (this output)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    mem_kib = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    import polars

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"{mem_kib / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}, polars {polars.__version__}")  # fmt: skip


#: The scale issue's goals: (command, subjects, most times the bare read).
RATIO_GOALS = (("validate", 100_000, 2.0), ("derive", 100_000, 3.0), ("response", 100_000, 3.0),
               ("cuminc", 100_000, 3.0), ("safety", 100_000, 3.0),
               ("km --by", 100_000, 3.0), ("check-dlt --by", 100_000, 3.0), ("report", 100_000, 20.0),
               *((name, 100_000, 5.0) for name in ADAM_SDTM.values()))  # fmt: skip
#: The hostile-input issue's goal: the report at 100k subjects under 4 GB peak.
REPORT_PEAK_GOAL_MIB = 4e9 / 2**20
#: "1M subjects completes ... with peak memory under 8 GB"
PEAK_GOAL_MIB = 8e9 / 2**20


def goals(sizes: list[dict], startup: list[dict]) -> list[str]:
    """The goals table: each goal, what this run measured, met or not."""
    lines = ["| goal | measured | met? |", "|---|---|---|"]
    for command, subjects, most in RATIO_GOALS:
        hit = [r for r in sizes if r["command"] == command and r["subjects"] == subjects]
        if hit:
            ratio = hit[0]["ratio"]
            lines.append(f"| `{command}`, {subjects:,} subjects, within {most:g}x the bare read | {ratio:.2f}x | "
                         f"{'yes' if ratio <= most else 'no'} |")  # fmt: skip
    floor = [r for r in sizes if r["command"] == PYREADSTAT_NEEDED and r["subjects"] == 100_000]
    if floor:  # what no SDTM command can beat: the adam rows' goal is out of reach when this misses it
        ratio = floor[0]["ratio"]
        lines.append(f"| (the floor under the adam rows) pyreadstat's bare read of the mapping's variables, 100,000 "
                     f"subjects, within 5x the bare read | {ratio:.2f}x | {'yes' if ratio <= 5 else 'no'} |")  # fmt: skip
    report = [r for r in sizes if r["command"] == "report" and r["subjects"] == 100_000]
    if report:
        peak = report[0]["peak_mib"]
        lines.append(f"| `report`, 100,000 subjects, peak under 4 GB ({REPORT_PEAK_GOAL_MIB:.0f} MiB) | {peak:.0f} MiB | "
                     f"{'yes' if peak < REPORT_PEAK_GOAL_MIB else 'no'} |")  # fmt: skip
    big = [r for r in sizes if r["subjects"] >= 1_000_000]
    if big:
        peak = max(r["peak_mib"] for r in big)
        lines.append(f"| 1M subjects: every command completes, peak under 8 GB ({PEAK_GOAL_MIB:.0f} MiB) | "
                     f"highest peak {peak:.0f} MiB | {'yes' if peak < PEAK_GOAL_MIB else 'no'} |")  # fmt: skip
    times = {r["command"]: r["seconds"] for r in startup}
    if "cart19 --help" in times:
        lines.append(f"| `cart19 --help` well under 0.5 s | {times['cart19 --help']:.3f} s | "
                     f"{'yes' if times['cart19 --help'] < 0.25 else 'no'} |")  # fmt: skip
    key = "cart19 derive examples/events.csv"
    if key in times:
        lines.append(f"| `{key}` under 1 s | {times[key]:.3f} s | {'yes' if times[key] < 1 else 'no'} |")
    return lines


def markdown(sizes: list[dict], startup: list[dict], repeat: int, fixed: dict[str, float] | None = None) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}.",
        f"Run: `python {' '.join(sys.argv)}` on {time.strftime('%Y-%m-%d')} at commit {_commit()}, "
        f"median of {repeat} runs per cell, each command alternating with the bare read, "
        "in a fresh process (start-up included). Ratio = time / polars' bare `read_csv` of the same file "
        "in a fresh process (the SDTM rows: to pyreadstat's bare read of the folder's XPT files, but adam's and the "
        "read of the mapping's variables: to polars' read of the equivalent event CSV). Peak = the process's maximum resident memory. cart19's modules byte-compiled "
        "first, as `pip install .` leaves them.",
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
    lines += ["", "Scaling: the time ratio between consecutive sizes (10x subjects; linear is about 10x), as "
              "measured and, in brackets, of the time above the command's fixed cost (its time on the "
              "15-patient example: start-up and imports, which do not grow with the file):", ""]  # fmt: skip
    for name, rows in by_command.items():
        steps = []
        for a, b in zip(rows, rows[1:], strict=False):
            step = f"{b['seconds'] / a['seconds']:.1f}x"
            base = (fixed or {}).get(name)
            if base is not None and a["seconds"] > base:
                step += f" ({(b['seconds'] - base) / (a['seconds'] - base):.1f}x)"
            steps.append(f"{a['subjects']:,} -> {b['subjects']:,}: {step}")
        if steps:
            lines.append(f"- {name}: {'; '.join(steps)}")
    if fixed:
        lines += ["", "Fixed cost (each command on `examples/events.csv`): "
                  + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in fixed.items())]  # fmt: skip
    lines += ["", "Start-up (multiples of a bare `python -c pass`):", "", "| command | seconds | multiple |",
              "|---|---:|---:|"]  # fmt: skip
    for r in startup:
        lines.append(f"| `{r['command']}` | {r['seconds']:.3f} | {r['ratio']:.1f}x |")
    lines += ["", "## Against the goals of the scale issue", "", *goals(sizes, startup)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="sizes of the event-file rows; none: --subjects with no size (the SDTM rows only)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command, alternating with the bare read")
    parser.add_argument("--only", nargs="+", default=[], metavar="COMMAND",
                        help="time only these commands (names as in the table, e.g. derive 'km --by' "
                        "'adam --format parquet (SDTM XPT folder; ratio to polars' read of the event CSV)'); no "
                        "start-up or fixed-cost rows")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--markdown", type=Path, help="write the results table here")
    parser.add_argument("--clean", action="store_true", help="delete the generated data afterwards")
    parser.add_argument("--sdtm", type=int, nargs="*", default=[100_000],
                        help="sizes at which to time reading an SDTM folder (XPT); none: --sdtm with no size")  # fmt: skip
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    # `pip install .` byte-compiles the package; an editable install under PYTHONDONTWRITEBYTECODE=1
    # (set on these machines) would compile cart19's modules from source at every start (~40 ms)
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "src" / "cart19")], check=True, stdout=subprocess.DEVNULL)
    ONLY.update(args.only)
    fixed = None if ONLY else bench_fixed(args.repeat)
    sizes = []
    for n in args.subjects:
        print(f"{n:,} subjects", file=sys.stderr, flush=True)
        sizes.extend(bench_size(n, args.repeat, args.seed))
    for n in [] if ONLY and not ONLY & sdtm_rows() else args.sdtm:
        print(f"{n:,} subjects as SDTM", file=sys.stderr, flush=True)
        sizes.extend(bench_sdtm(n, args.repeat, args.seed))
    startup = [] if ONLY else bench_startup(max(args.repeat, 5))
    text = markdown(sizes, startup, args.repeat, fixed)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.clean:
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
