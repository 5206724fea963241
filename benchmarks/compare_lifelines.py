"""`cart19 km` against the pandas + lifelines script a statistician would write instead
(benchmarks/km_lifelines.py), at every size, on derive's output (issue 13).

    python benchmarks/compare_lifelines.py --lifelines-python /path/to/venv/bin/python \
        --subjects 10000 100000 1000000 --repeat 3 --markdown benchmarks/RESULTS-lifelines.md

The script needs pandas and lifelines, which cart19 does not install: give the Python of an
environment that has them (``python -m venv v && v/bin/pip install pandas lifelines``). Both run
in a fresh process, alternately (script, cart19, script, ...), with and without ``--by`` a
20-level covariate; the figures are the medians, the ratio is cart19's time over the script's
(under 1: cart19 is ahead), and the peak is each process's maximum resident memory. Before
timing, the two summaries are compared: the same N, events and survival at 6/12/24 months.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

SCRIPT = Path(__file__).resolve().parent / "km_lifelines.py"


def adtte_of(subjects: int, seed: int, by: bool) -> Path:
    """derive's output for the simulated trial (with the 20-level ``cohort`` when ``by``)."""
    events = run.ensure_data(subjects, seed)
    adtte = run.DATA / f"adtte-{'by-' if by else ''}{subjects}-{seed}.csv"
    if not adtte.exists():
        extra = ["--subjects", str(run.ensure_subjects(events))] if by else []
        run.run_once([*run.CART19, "derive", str(events), *extra, "--format", "csv"], adtte)
    return adtte


def same_figures(cart19_csv: str, script_csv: str) -> None:
    """Stop when the two summaries disagree (N, events, survival at each landmark, to 1e-9)."""
    import csv
    import io

    ours = list(csv.DictReader(io.StringIO(cart19_csv)))
    theirs = list(csv.DictReader(io.StringIO(script_csv)))
    if len(ours) != len(theirs):
        raise SystemExit(f"cart19 has {len(ours)} rows, the script {len(theirs)}")
    key = lambda r: (int(r["N"]), int(r["events"]), float(r["time_months"]))
    # cart19 leaves the survival empty past a curve's last time (as R's summary.survfit); the
    # script carries the last value on: only the times both give are compared
    pairs = zip(sorted(ours, key=key), sorted(theirs, key=key), strict=True)
    for a, b in pairs:
        if key(a) != key(b) or (a["survival"] and abs(float(a["survival"]) - float(b["survival"])) > 1e-9):
            raise SystemExit(f"the summaries differ: {a} vs {b}")


def compare(subjects: int, seed: int, repeat: int, python: str, by: bool) -> dict:
    adtte = adtte_of(subjects, seed, by)
    split = ["--by", "cohort"] if by else []
    ours = [*run.CART19, "km", str(adtte), *split, "--format", "csv"]
    theirs = [python, str(SCRIPT), str(adtte), *split]
    same_figures(subprocess.run(ours, capture_output=True, text=True, check=True, cwd=run.ROOT).stdout,
                 subprocess.run(theirs, capture_output=True, text=True, check=True, cwd=run.ROOT).stdout)  # fmt: skip
    script_runs, cart19_runs = [], []
    for _ in range(repeat):
        script_runs.append(run.run_once(theirs))
        cart19_runs.append(run.run_once(ours))
    row = {
        "subjects": subjects, "by": by,
        "script_s": statistics.median(r[0] for r in script_runs), "script_mib": max(r[1] for r in script_runs),
        "cart19_s": statistics.median(r[0] for r in cart19_runs), "cart19_mib": max(r[1] for r in cart19_runs),
    }  # fmt: skip
    row["ratio"] = row["cart19_s"] / row["script_s"]
    print(f"  {subjects:>9,} {'--by cohort' if by else '':<12} script {row['script_s']:6.2f}s {row['script_mib']:6.0f} MiB"
          f"  cart19 {row['cart19_s']:6.2f}s {row['cart19_mib']:6.0f} MiB  {row['ratio']:.2f}x", file=sys.stderr)  # fmt: skip
    return row


def markdown(rows: list[dict], repeat: int, sizes: list[int]) -> str:
    lines = [
        "# cart19 km against pandas + lifelines",
        "",
        f"Machine: {run.machine()}.",
        (f"Run: `python benchmarks/compare_lifelines.py --lifelines-python PY --subjects {' '.join(map(str, sizes))} "
        f"--repeat {repeat}` at commit {run._commit()}, median of "
        f"{repeat} alternating runs, each in a fresh process (start-up and imports included). The script is "
        "`benchmarks/km_lifelines.py` (pandas reads the three columns it needs, lifelines fits each curve). "
        "Ratio = cart19's time / the script's: under 1.00x, cart19 is ahead."),
        "",
        "| subjects | split | script s | script peak MiB | cart19 km s | cart19 peak MiB | ratio |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['subjects']:,} | {'--by cohort (20 levels)' if r['by'] else 'none'} | {r['script_s']:.2f} | "
                     f"{r['script_mib']:.0f} | {r['cart19_s']:.2f} | {r['cart19_mib']:.0f} | {r['ratio']:.2f}x |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifelines-python", required=True, help="a Python with pandas and lifelines")
    parser.add_argument("--subjects", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    rows = [compare(n, args.seed, args.repeat, args.lifelines_python, by) for n in args.subjects for by in (False, True)]
    text = markdown(rows, args.repeat, args.subjects)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
