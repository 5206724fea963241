"""Write the example trial (examples/events.csv) as SDTM domains in SAS transport v5 files.

    python examples/make_sdtm.py                    # examples/events.csv -> examples/sdtm/
    python examples/make_sdtm.py EVENTS.csv FOLDER  # any event file (e.g. a simulated trial)

The inverse of cart19's default SDTM mapping (docs/sdtm.md), written the way a sponsor's SDTM
would hold each event: DM (consent, death), EX (lymphodepletion, the CAR-T product), RS (overall
response, relapse), AE, PR (transplant), CM (next therapy), DS (end of treatment, withdrawal, and
each death again: the mapping keeps DM's), DD (cause of death) and SV (contacts). Reading the
folder back (`cart19 derive examples/sdtm`) gives the same endpoints as the event file
(tests/test_sdtm_example.py). The functions are used by benchmarks/run.py as well.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

STUDYID = "CART19"

LABELS = {"DM": "Demographics", "EX": "Exposure", "RS": "Disease Response", "AE": "Adverse Events",
          "PR": "Procedures", "CM": "Concomitant/Concurrent Medications", "DS": "Disposition",
          "DD": "Death Details", "SV": "Subject Visits"}  # fmt: skip

_RESULT = {"CR": "CR", "CRh": "CRH", "CRi": "CRI", "MLFS": "MLFS", "PR": "PR", "NR": "NR", "PD": "PD", "NE": "NE"}
_CAUSE = {"disease": "DISEASE PROGRESSION", "toxicity": "TREATMENT-RELATED TOXICITY", "other": "ACCIDENT"}


def _seq(frame: pl.DataFrame, domain: str) -> pl.DataFrame:
    """``STUDYID``, ``DOMAIN``, ``USUBJID``, then ``--SEQ`` numbering each subject's records."""
    return frame.sort("USUBJID", maintain_order=True).with_columns(
        pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Float64).alias(f"{domain}SEQ")
    ).select(pl.lit(STUDYID).alias("STUDYID"), pl.lit(domain).alias("DOMAIN"), "USUBJID", f"{domain}SEQ",
             pl.exclude("USUBJID", f"{domain}SEQ"))  # fmt: skip


def sdtm_domains(events: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Event rows (the event file's columns, as text) -> SDTM domain frames."""
    e = events.with_columns(pl.col("subject_id").alias("USUBJID"), pl.col("event").str.to_lowercase())

    def kind(name: str) -> pl.DataFrame:
        return e.filter(pl.col("event") == name)

    subjects = e.select("USUBJID").unique(maintain_order=True)
    enrolled = kind("enrolled").group_by("USUBJID", maintain_order=True).agg(pl.col("date").first().alias("RFICDTC"))
    deaths = kind("death").group_by("USUBJID", maintain_order=True).agg(pl.col("date").first().alias("DTHDTC"),
                                                                         pl.col("result").first().alias("cause"))  # fmt: skip
    dm = (
        subjects.join(enrolled, on="USUBJID", how="left").join(deaths, on="USUBJID", how="left")
        .with_columns(pl.col("USUBJID").str.split("-").list.last().alias("SUBJID"),
                      pl.when(pl.col("DTHDTC").is_not_null()).then(pl.lit("Y")).alias("DTHFL"),
                      pl.lit("001").alias("SITEID"), pl.lit("CART19").alias("ARMCD"))
        .select(pl.lit(STUDYID).alias("STUDYID"), pl.lit("DM").alias("DOMAIN"), "USUBJID", "SUBJID", "RFICDTC",
                "DTHDTC", "DTHFL", "SITEID", "ARMCD")
    )  # fmt: skip
    ex = _seq(pl.concat([
        kind("lymphodepletion").select("USUBJID", pl.lit("FLUDARABINE").alias("EXTRT"),
                                       pl.lit("LYMPHODEPLETION").alias("EXCAT"), pl.col("date").alias("EXSTDTC")),
        kind("infusion").select("USUBJID", pl.lit("CD19 CAR-T CELLS").alias("EXTRT"),
                                pl.lit("STUDY PRODUCT").alias("EXCAT"), pl.col("date").alias("EXSTDTC")),
    ]), "EX")  # fmt: skip
    rs = _seq(pl.concat([
        kind("assessment").select("USUBJID", pl.lit("OVRLRESP").alias("RSTESTCD"),
                                  pl.col("result").replace_strict(_RESULT, default=pl.col("result")).alias("RSSTRESC"),
                                  pl.lit(None, pl.String).alias("RSLOC"), pl.lit("INVESTIGATOR").alias("RSEVAL"),
                                  pl.col("date").alias("RSDTC")),
        kind("assessment").filter(pl.col("mrd").is_not_null()).select(
            "USUBJID", pl.lit("MRD").alias("RSTESTCD"), pl.col("mrd").str.to_uppercase().alias("RSSTRESC"),
            pl.lit(None, pl.String).alias("RSLOC"), pl.lit("INVESTIGATOR").alias("RSEVAL"), pl.col("date").alias("RSDTC")),
        kind("relapse").select("USUBJID", pl.lit("OVRLRESP").alias("RSTESTCD"), pl.lit("RELAPSE").alias("RSSTRESC"),
                               pl.when(pl.col("result") == "extramedullary").then(pl.lit("CNS"))
                               .otherwise(pl.lit("BONE MARROW")).alias("RSLOC"),
                               pl.lit("INVESTIGATOR").alias("RSEVAL"), pl.col("date").alias("RSDTC")),
    ]), "RS")  # fmt: skip
    related = pl.when(pl.col("related") == "Y").then(pl.lit("RELATED")).when(pl.col("related") == "N").then(
        pl.lit("NOT RELATED"))  # fmt: skip
    ae = _seq(kind("ae").select("USUBJID", pl.col("term").alias("AETERM"), pl.col("term").alias("AEDECOD"),
                                pl.col("soc").alias("AEBODSYS"), pl.col("serious").alias("AESER"),
                                related.alias("AEREL"), pl.col("grade").alias("AETOXGR"),
                                pl.col("date").alias("AESTDTC"), pl.col("end_date").alias("AEENDTC")), "AE")  # fmt: skip
    pr = _seq(kind("hsct").select("USUBJID", pl.lit("ALLOGENEIC HSCT").alias("PRTRT"),
                                  pl.col("date").alias("PRSTDTC")), "PR")  # fmt: skip
    cm = _seq(kind("new_therapy").select("USUBJID", pl.lit("BLINATUMOMAB").alias("CMTRT"),
                                         pl.lit("SUBSEQUENT ANTI-CANCER THERAPY").alias("CMCAT"),
                                         pl.col("date").alias("CMSTDTC")), "CM")  # fmt: skip
    ds = _seq(pl.concat([
        kind("end_of_treatment").select("USUBJID", pl.lit("COMPLETED TREATMENT").alias("DSTERM"),
                                        pl.lit("COMPLETED").alias("DSDECOD"), pl.lit("DISPOSITION EVENT").alias("DSCAT"),
                                        pl.lit("TREATMENT").alias("EPOCH"), pl.col("date").alias("DSSTDTC")),
        kind("withdrawal").select("USUBJID", pl.lit("WITHDREW CONSENT").alias("DSTERM"),
                                  pl.lit("WITHDRAWAL BY SUBJECT").alias("DSDECOD"),
                                  pl.lit("DISPOSITION EVENT").alias("DSCAT"), pl.lit("FOLLOW-UP").alias("EPOCH"),
                                  pl.col("date").alias("DSSTDTC")),
        kind("death").select("USUBJID", pl.lit("DEATH").alias("DSTERM"), pl.lit("DEATH").alias("DSDECOD"),
                             pl.lit("DISPOSITION EVENT").alias("DSCAT"), pl.lit("FOLLOW-UP").alias("EPOCH"),
                             pl.col("date").alias("DSSTDTC")),
    ]), "DS")  # fmt: skip
    dd = _seq(deaths.filter(pl.col("cause") != "unknown").select(
        "USUBJID", pl.lit("PRCDTH").alias("DDTESTCD"), pl.lit("Primary Cause of Death").alias("DDTEST"),
        pl.col("cause").replace_strict(_CAUSE, default="OTHER").alias("DDSTRESC"),
        pl.col("DTHDTC").alias("DDDTC")), "DD")  # fmt: skip
    sv = kind("contact").select("USUBJID", pl.lit("FOLLOW-UP CONTACT").alias("VISIT"), pl.col("date").alias("SVSTDTC"))
    sv = sv.select(pl.lit(STUDYID).alias("STUDYID"), pl.lit("SV").alias("DOMAIN"), "USUBJID", "VISIT", "SVSTDTC")
    return {"DM": dm, "EX": ex, "RS": rs, "AE": ae, "PR": pr, "CM": cm, "DS": ds, "DD": dd, "SV": sv}


def write_xpt(domains: dict[str, pl.DataFrame], folder: Path) -> None:
    """One SAS transport v5 file per domain (``dm.xpt`` ...), named and labelled; the headers'
    created/modified stamps are 2000-01-01, so the same events give the same bytes."""
    import datetime as dt

    import pyreadstat

    from cart19.io.submission import restamp_xpt

    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in domains.items():
        text = frame.with_columns(pl.col(pl.String).fill_null(""))  # XPT has no missing text, only blanks
        pyreadstat.write_xport(text, str(folder / f"{name.lower()}.xpt"), file_label=LABELS[name], table_name=name,
                               file_format_version=5)  # fmt: skip
        restamp_xpt(folder / f"{name.lower()}.xpt", dt.datetime(2000, 1, 1))


def main(argv: list[str]) -> None:
    here = Path(__file__).resolve().parent
    source = Path(argv[0]) if argv else here / "events.csv"
    folder = Path(argv[1]) if len(argv) > 1 else here / "sdtm"
    events = pl.read_csv(source, infer_schema=False)
    write_xpt(sdtm_domains(events), folder)


if __name__ == "__main__":
    main(sys.argv[1:])
