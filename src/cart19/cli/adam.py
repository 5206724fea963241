"""``cart19 adam``: the ADaM datasets and their metadata, in a submission format, into a folder.

A thin layer: read and validate (``load_inputs``), derive (:func:`cart19.engine.tte.derive_adtte`),
assemble (:mod:`cart19.engine.adam`), check every dataset against its format, then write each
file atomically (:mod:`cart19.io.submission`, ``atomic_write``). Nothing is written unless every
dataset can be written.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cart19.cli.common import (
    ConfigOpt,
    CutoffOpt,
    Env,
    InputArg,
    QuietOpt,
    SubjectsOpt,
    atomic_write,
    command,
    load_inputs,
    parse_cutoff,
    report_input_error,
)
from cart19.errors import ExitCode

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

HELP = """The analysis datasets for a submission, with their metadata, written into FOLDER.

Writes exactly five files into FOLDER (created if missing), each dataset as
.xpt (or .json, .ndjson, .parquet, .csv):

\b
  adsl: one row per subject: population flags (ENRLFL, SAFFL, DLTEVLFL, EFFFL),
      key dates (TRTSDT, LDSTDT, EOTDT, HSCTDT, NTHSTDT, DTHDT, LSTALVDT), BOR;
  adae: one row per AE of an infused subject, with TRTEMFL, DLTFL, APERIOD;
  adrs: one OVR row per assessment (ANL01FL = Y when it counts as response to
      the infusion), then BOR and MRDNEG per infused subject;
  adtte: the time-to-event dataset of `derive` (OS, EFS, EFSS1-3, DOR, RFS)
      with STUDYID and PARAMN added (and SRCVAR from an SDTM folder);
  define.json: per dataset its name, label and records, and per variable its
      name, label, type, length, format and a one-line derivation naming the rule.

STUDYID is DM's (SDTM input) or the configuration's study.studyid. The covariates
(--subjects, else DM's) follow SUBJID in ADSL and end ADTTE, their names upper-cased; a name
that is not a SAS name (a letter, then letters, digits or _; in XPT at most 8) is an error.

Formats: xpt is SAS transport version 5 (names of at most 8 characters, labels of at most 40,
text values of at most 200 bytes: a longer one is an error naming the record, never cut; dates
as SAS dates with the DATE9. format); json is CDISC Dataset-JSON v1.1 and ndjson its line form
(first line the metadata, then one row per line); parquet and csv are the same frame. The
Dataset-JSON creation time is SOURCE_DATE_EPOCH when set, else the cutoff, else the latest date
in the input, so the same input gives the same bytes. Formats and rules: docs/adam.md.

\b
Examples:
  cart19 adam examples/events.csv -o adam
  cart19 adam examples/events.csv -o adam --format json --subjects examples/subjects.csv
  cart19 adam examples/sdtm -o adam --format xpt
  cart19 adam examples/events.csv -o adam --format ndjson --cutoff 2025-06-30
  SOURCE_DATE_EPOCH=1751241600 cart19 adam examples/events.csv -o adam --format xpt
"""


class AdamFormat(str, enum.Enum):
    xpt = "xpt"
    json = "json"
    ndjson = "ndjson"
    parquet = "parquet"
    csv = "csv"


FolderOpt = Annotated[
    Path,
    typer.Option("--output", "-o", help="Folder to write into (created if missing; not an existing file).",
                 metavar="FOLDER"),
]  # fmt: skip
AdamFormatOpt = Annotated[
    AdamFormat, typer.Option("--format", "-f", help="Dataset format (define.json is always JSON).")
]


def creation_time(events: pl.DataFrame, cutoff: dt.date | None, env: Env) -> tuple[dt.datetime, dt.datetime] | None:
    """(created, data last modified) for the Dataset-JSON and XPT headers, never the clock:
    the data as of the cutoff, else as of the latest date (or AE end date) in the input; the
    creation time is ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC: the reproducible-builds
    convention) when set. None, with the error said, when it is set but not a number."""
    import polars as pl

    if cutoff is not None:
        as_of = cutoff
    else:
        latest = events.select(pl.max_horizontal(pl.col("date").max(), pl.col("end_date").max())).item()
        as_of = latest if latest is not None else dt.date(1970, 1, 1)
    modified = dt.datetime.combine(as_of, dt.time())
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return modified, modified
    try:
        created = dt.datetime.fromtimestamp(int(epoch), dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        env.error(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970-01-01; nothing was written")
        return None
    return created, modified


def register(app: typer.Typer) -> None:
    @app.command("adam", help=HELP)
    @command
    def adam(
        file: InputArg,
        folder: FolderOpt,
        fmt: AdamFormatOpt = AdamFormat.xpt,
        cutoff: CutoffOpt = None,
        subjects: SubjectsOpt = None,
        config_path: ConfigOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19 import __version__
        from cart19.engine import adam as adam_engine
        from cart19.engine.tte import derive_adtte
        from cart19.io import submission
        from cart19.io.write import protect_inputs, write_bytes

        env = Env.current(quiet=quiet)
        if folder.exists() and not folder.is_dir():
            env.error(f"{folder} is an existing file, not a folder; nothing was written")
            return ExitCode.INVALID
        extension = submission.FORMATS[fmt.value]
        names = [adam_engine.ADSL_NAME, adam_engine.ADAE_NAME, adam_engine.ADRS_NAME, adam_engine.ADTTE_NAME]
        targets = [*(folder / f"{name.lower()}{extension}" for name in names), folder / "define.json"]
        inputs_of_run = [(role, value) for role, value in (("the event file", file), ("the configuration", config_path),
                                                          ("the subject file", subjects))]  # fmt: skip
        for target in targets:  # (io.write's check: the same file by device and inode)
            protect_inputs(target, inputs_of_run)
        cutoff_date = parse_cutoff(cutoff)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, subjects_path=subjects)
        times = creation_time(inputs.events, cutoff_date, env)
        if times is None:
            return ExitCode.INVALID
        config = inputs.config
        studyid = inputs.studyid or config.study.studyid
        reserved = {v.name for v in (*adam_engine.adsl_variables(config), *adam_engine.adtte_variables(config))}
        covariates, covariate_meta = adam_engine.covariate_variables(
            inputs.covariates, fmt=fmt.value, source=str(subjects) if subjects is not None else f"{file} (DM)",
            origin="the subject file" if subjects is not None else "DM", reserved=reserved,
        )
        with env.progress("Deriving ADSL, ADAE, ADRS and ADTTE"):
            adtte = inputs.traced(derive_adtte(inputs.events, config, inputs.subjects))
            if covariates is not None:
                adtte = adtte.join(covariates.rename({"subject_id": "USUBJID"}), on="USUBJID", how="left",
                                   maintain_order="left")  # fmt: skip
            datasets = [
                adam_engine.adsl(inputs.events, config, studyid=studyid, covariates=covariates,
                                 covariate_meta=covariate_meta, subjects=inputs.subjects),
                adam_engine.adae(inputs.events, config, studyid=studyid, provenance=inputs.provenance),
                adam_engine.adrs(inputs.events, config, studyid=studyid, provenance=inputs.provenance),
                adam_engine.adtte(adtte, config, covariate_meta, studyid=studyid),
            ]  # fmt: skip
        provenance = submission.Provenance(
            studyid=studyid,
            created=times[0],
            db_last_modified=times[1],
            originator=config.study.originator,
            source_system=("cart19", __version__),
        )
        failed = []
        for frame, meta in datasets:  # every problem of every dataset before any file is written
            try:
                submission.check(frame, meta, fmt.value)
            except submission.SubmissionError as exc:
                failed.append(exc)
        for exc in failed:
            report_input_error(exc, env)
        if failed:
            return ExitCode.INVALID
        written = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for frame, meta in datasets:
                path = folder / f"{meta.name.lower()}{submission.FORMATS[fmt.value]}"
                atomic_write(path, lambda tmp, f=frame, m=meta: submission.write_dataset(f, m, fmt.value, tmp,
                                                                                         provenance))  # fmt: skip
                written.append(path)
            define = folder / "define.json"
            data = submission.define_bytes(studyid, datasets)
            write_bytes(define, data)
            written.append(define)
        except OSError as exc:  # the environment's problem: a read-only or full file system, permissions
            done = f" ({', '.join(str(p) for p in written)} written)" if written else "; nothing was written"
            env.error(f"cannot write into {folder}: {exc.strerror or exc}{done}")
            return ExitCode.INVALID
        for path in written:
            print(path, file=env.stdout)
        return 0
