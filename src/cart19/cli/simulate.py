"""``cart19 simulate``: a synthetic trial in the input format, deterministic for a seed."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from cart19.cli.common import Env, Format, OutputOpt, QuietOpt, command, write_frame

HELP = """Write a realistic synthetic CD19 CAR-T trial in the input format.

Responses, relapses, transplants, deaths, AE terms and grades follow the distributions of a
CD19 CAR-T trial in B-ALL; every row is valid by construction; the same seed gives the same
bytes. CSV by default (also on a terminal), Parquet with -o FILE.parquet or --format parquet,
JSON Lines with --format json.

\b
Examples:
  cart19 simulate --subjects 1000 --seed 7 -o trial.csv
  cart19 simulate --subjects 100000 -o trial.parquet
  cart19 simulate --subjects 150 --seed 1 | cart19 check-dlt -
"""


class SimulateFormat(str, enum.Enum):
    """The formats simulate writes (an event file: no table)."""

    csv = "csv"
    json = "json"
    parquet = "parquet"


SimulateFormatOpt = Annotated[
    SimulateFormat | None,
    typer.Option("--format", "-f", help="csv (default), json (JSON Lines) or parquet. Default: from -o's extension, "
                 "else csv."),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    @app.command("simulate", help=HELP)
    @command
    def simulate(
        subjects: Annotated[
            int, typer.Option("--subjects", "-n", min=1, max=10_000_000, help="Number of subjects.", metavar="N")
        ] = 15,
        seed: Annotated[int, typer.Option("--seed", "-s", min=0, help="Random seed.", metavar="SEED")] = 1,
        output: OutputOpt = None,
        fmt: SimulateFormatOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.cli.common import atomic_write, frame_bytes, resolve_format
        from cart19.engine.simulate import simulate_blocks, simulate_events
        from cart19.io.write import open_sink, stream_to_stdout, write_to_stdout

        env = Env.current(quiet=quiet)
        chosen = resolve_format(None if fmt is None else Format(fmt.value), output, env)
        if chosen is Format.table:
            chosen = Format.csv
        if chosen is not Format.csv:  # Parquet and JSON Lines: one frame
            with env.progress(f"Simulating {subjects:,} subjects"):
                frame = simulate_events(subjects, seed)
            write_frame(frame, chosen, output, env)
            return 0
        # CSV: block by block, so a million subjects never sit in memory as one CSV text
        rows = 0

        def write_blocks(stream) -> None:  # type: ignore[no-untyped-def]
            nonlocal rows
            for index, block in enumerate(simulate_blocks(subjects, seed)):
                block.write_csv(stream, include_header=index == 0)
                rows += block.height

        with env.progress(f"Simulating {subjects:,} subjects"):
            if output is not None:

                def to_file(sink):  # type: ignore[no-untyped-def]
                    with open_sink(sink) as handle:
                        write_blocks(handle)

                atomic_write(output, to_file)
            elif getattr(env.stdout, "buffer", None) is None:  # a text-only stream (tests)
                write_to_stdout(frame_bytes(simulate_events(subjects, seed), Format.csv), env.stdout)
            else:
                stream_to_stdout(write_blocks, env.stdout)
        if output is not None and env.stderr_isatty and not quiet:
            print(f"{rows:,} events of {subjects:,} subjects written to {output}", file=env.stderr)
        return 0
