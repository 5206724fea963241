"""``cart19 simulate``: a synthetic trial in the input format, deterministic for a seed."""

from __future__ import annotations

from typing import Annotated

import typer

from cart19.cli.common import Env, Format, FormatOpt, OutputOpt, QuietOpt, command, write_frame

HELP = """Write a realistic synthetic CD19 CAR-T trial in the input format.

Responses, relapses, transplants, deaths, AE terms and grades follow the distributions of a
CD19 CAR-T trial in B-ALL; every row is valid by construction; the same seed gives the same
bytes. CSV by default, Parquet with -o FILE.parquet.

Example:  cart19 simulate --subjects 1000 --seed 7 -o trial.csv && cart19 derive trial.csv
"""


def register(app: typer.Typer) -> None:
    @app.command("simulate", help=HELP)
    @command
    def simulate(
        subjects: Annotated[int, typer.Option("--subjects", "-n", min=1, max=10_000_000, help="Number of subjects.")] = 15,
        seed: Annotated[int, typer.Option("--seed", "-s", min=0, help="Random seed.")] = 1,
        output: OutputOpt = None,
        fmt: FormatOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.cli.common import resolve_format
        from cart19.engine.simulate import simulate_events

        env = Env.current(quiet=quiet)
        chosen = resolve_format(fmt, output, env)
        if chosen is Format.table:
            chosen = Format.csv
        with env.progress(f"Simulating {subjects:,} subjects"):
            frame = simulate_events(subjects, seed)
        with env.progress("Writing"):
            write_frame(frame, chosen, output, env)
        if output is not None and env.stderr_isatty and not quiet:
            print(f"{frame.height:,} events of {subjects:,} subjects written to {output}", file=env.stderr)
        return 0
