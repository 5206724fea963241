"""SDTM domains -> event rows as text, each with its origin (sdtm.md, the default mapping).

A pure function of the domain frames (:mod:`cart19.io.sdtm.formats`) and the ``[sdtm]``
configuration (:class:`cart19.config.SDTMConfig`): :func:`map_domains` returns the rows of
the event format (all text, as an event file would hold them) with, per row, the domain
(``srcdom``), the record's ``--SEQ`` (``srcseq``; the record number for a domain without one),
the date variable (``srcvar``), the record number, and the SDTM variable behind each
event column (for messages, by ``_rule``). A year-only AE onset (``AESTDTC`` = ``YYYY``) goes on
as written: the event format allows it for ``ae`` and its reader imputes it (flag ``M``). It
also says, per domain, what became of every record (the mapping report) and lists the
problems of the mapping itself (a missing domain or variable, values outside a value map).
The rows are then checked by the event format's own validation (:mod:`cart19.io.sdtm`).

Interpretation choices (docs/sdtm.md):

* "the first per subject" (infusion, lymphodepletion) is the earliest by the date's text
  (ISO 8601 sorts as text), ties to the domain order (EX before CM) and the record number;
  a record without a date comes last.
* A transplant (PR) dated before the subject's infusion is a prior transplant, left out.
* An ``MRD`` result belongs to the overall-response assessments of the same subject and date.
* A DM death keeps its DS twin out of the events ("DM wins"); the cause comes from DD
  (``PRCDTH``), else from the ``DSTERM`` of a DS death record (unless it only says ``DEATH``
  again), else ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from cart19.config import SDTMConfig
from cart19.errors import Issue
from cart19.io.sdtm.formats import RECORD

#: Domains the mapping reads, in the order their rows are numbered (ties between records of
#: one date fall to this order).
DOMAINS: tuple[str, ...] = ("DM", "EX", "CM", "RS", "AE", "PR", "DS", "DD", "SV", "SS")

#: What a missing optional domain costs (the warning's words).
MISSING_COSTS: dict[str, str] = {
    "EX": "no infusions, so no subject is treated and every endpoint is empty",
    "CM": "no new anti-cancer therapy and no lymphodepletion from CM",
    "RS": "no assessments, so no response, EFS or DOR events",
    "AE": "no adverse events, so no TEAE table and no DLT",
    "PR": "no transplants (HSCT)",
    "DS": "no end of treatment, no withdrawals and no deaths other than DM's",
    "DD": "no cause of death from DD (DSTERM, else unknown)",
    "SV": "no visits as contacts (last known alive from the other records)",
    "SS": "no survival-status contacts",
}

#: Event columns (the event format's and ``mrd``), all text.
EVENT_TEXT: tuple[str, ...] = ("subject_id", "event", "date", "end_date", "grade", "term", "soc", "serious",
                               "related", "result", "mrd")  # fmt: skip

#: Columns of the mapped rows.
ROW_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.String() for name in EVENT_TEXT},
    "srcdom": pl.String(),
    "srcseq": pl.Int64(),
    "srcvar": pl.String(),
    "record": pl.Int64(),
    "_order": pl.Int64(),
    "_rule": pl.Int32(),
}


@dataclass(frozen=True, order=True)
class SdtmIssue(Issue):
    """An :class:`Issue` of an SDTM file: ``line`` is the record number (1-based, in the
    file's order), ``column`` the SDTM variable."""

    file: str | None = None

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.line is not None:
            where.append(f"record {self.line}")
        if self.column is not None:
            where.append(self.column if self.value is None else f"{self.column} {self.value!r}")
        elif self.value is not None:
            where.append(repr(self.value))
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


def variables(config: SDTMConfig) -> dict[str, set[str]]:
    """Per domain, the variables the mapping reads (upper case): the reader takes only these."""
    used = {
        "DM": {config.enrolled_date, config.death_date, *config.covariates, "STUDYID"},
        "EX": {"EXSTDTC", "EXTRT", "EXCAT"},
        "CM": {"CMSTDTC", "CMTRT", "CMCAT", "CMSCAT"},
        "RS": {"RSTESTCD", "RSSTRESC", "RSDTC", "RSEVAL", "RSLOC", "RSSTAT"},
        # (AESEV only when the grade may come from it: a real AE domain's every column costs)
        "AE": {"AESTDTC", "AEENDTC", config.ae_grade, *config.ae_term, "AEBODSYS", "AESER", "AEREL",
               *(["AESEV"] if config.grade_from_severity else [])},
        "PR": {"PRSTDTC", "PRTRT", "PRDECOD"},
        "DS": {"DSDECOD", "DSSTDTC", "DSTERM", "DSCAT", "EPOCH"},
        "DD": {"DDTESTCD", "DDSTRESC"},
        "SV": {"SVSTDTC"},
        "SS": {"SSSTRESC", "SSDTC"},
    }
    return {name: {v.upper() for v in (*names, "USUBJID", f"{name}SEQ")} for name, names in used.items()}


@dataclass(frozen=True)
class Domain:
    """One domain's text frame (:func:`cart19.io.sdtm.formats.read_domain`) and its file name."""

    name: str
    file: str
    frame: pl.DataFrame

    def has(self, variable: str) -> bool:
        return variable.upper() in self.frame.columns

    def col(self, variable: str) -> pl.Expr:
        """The variable's text, or null when the domain lacks it."""
        variable = variable.upper()
        return pl.col(variable) if self.has(variable) else pl.lit(None, pl.String)

    def upper(self, variable: str) -> pl.Expr:
        return self.col(variable).str.to_uppercase()

    @property
    def seq(self) -> pl.Expr:
        """``--SEQ`` as an integer, or the record number when the domain has none."""
        name = f"{self.name}SEQ"
        return pl.col(name).cast(pl.Int64, strict=False) if self.has(name) else pl.col(RECORD)


@dataclass
class Mapped:
    #: the event rows (:data:`ROW_SCHEMA`); ``_rule`` indexes ``rules``
    rows: pl.DataFrame
    #: the mapping report: ``domain, file, read, outcome, records`` (outcome: an event kind,
    #: or "left out: <reason>", or "missing: <what it costs>")
    report: pl.DataFrame
    issues: list[Issue] = field(default_factory=list)
    #: DM's covariates (``subject_id`` and the configured variables DM has), as text
    covariates: pl.DataFrame | None = None
    #: per rule (a row's ``_rule``): event column -> the SDTM variable it came from
    rules: list[dict[str, str | None]] = field(default_factory=list)
    #: domain -> its file's name
    files: dict[str, str] = field(default_factory=dict)
    #: DM's STUDYID (its first non-empty value), or None
    studyid: str | None = None


def _values(values: Iterable[str]) -> list[str]:
    return [v.strip().upper() for v in values]


def _in(expr: pl.Expr, values: Iterable[str]) -> pl.Expr:
    """Whether the text is in ``values``, case-insensitively after trimming (empty = "")."""
    return expr.str.to_uppercase().fill_null("").is_in(_values(values))


def _date(expr: pl.Expr) -> pl.Expr:
    """An ISO 8601 date-time as SDTM writes it, with the time part dropped."""
    return expr.str.replace(r"T.*$", "").str.strip_chars()


def _mapped(expr: pl.Expr, mapping: dict[str, object]) -> pl.Expr:
    """A value through a value map (keys matched case-insensitively after trimming); null
    where the value is not a key."""
    keys = list(mapping)
    return expr.str.to_uppercase().replace_strict(
        _values(keys), [str(mapping[k]) for k in keys], default=None, return_dtype=pl.String
    )


class _Builder:
    """Collects the rows, the report's outcomes and the issues of one mapping."""

    def __init__(self) -> None:
        self.rows: list[pl.DataFrame] = []
        #: ``domain, outcome, records``: the events made (outcome = the kind) and the records
        #: left out (outcome = "left out: <reason>"), one small frame per step
        self.outcomes: list[pl.DataFrame] = []
        self.issues: list[Issue] = []
        #: per call of :meth:`add` (a row's ``_rule``): event column -> SDTM variable
        self.rules: list[dict[str, str | None]] = []

    def add(self, d: Domain, frame: pl.DataFrame, event: str, date_var: str, **columns: tuple[pl.Expr, str]) -> None:
        """Rows of ``event`` from the records of ``frame`` (a filter of ``d.frame``), dated by
        ``date_var``; ``columns``: event column -> (expression, SDTM variable)."""
        if frame.height == 0:
            return
        exprs = [pl.col("USUBJID").alias("subject_id"), pl.lit(event).alias("event"),
                 _date(d.col(date_var)).alias("date")]  # fmt: skip
        names = {"subject_id": "USUBJID", "event": date_var, "date": date_var}
        for name in EVENT_TEXT[3:]:
            expr, variable = columns.get(name, (pl.lit(None, pl.String), ""))
            exprs.append(expr.cast(pl.String).alias(name))
            names[name] = variable
        exprs += [
            pl.lit(d.name).alias("srcdom"),
            d.seq.alias("srcseq"),
            pl.lit(date_var.upper()).alias("srcvar"),
            pl.col(RECORD).alias("record"),
            pl.lit(DOMAINS.index(d.name)).cast(pl.Int64).alias("_order"),
            pl.lit(len(self.rules)).cast(pl.Int32).alias("_rule"),
        ]
        self.rules.append({name: variable.upper() or None for name, variable in names.items()})
        self.outcomes.append(pl.DataFrame({"domain": [d.name], "outcome": [event], "records": [frame.height]}))
        self.rows.append(frame.select(exprs).cast(ROW_SCHEMA))  # type: ignore[arg-type]

    def leave_out(self, d: Domain, frame: pl.DataFrame, reason: str) -> None:
        if frame.height:
            self.outcomes.append(pl.DataFrame({"domain": [d.name], "outcome": [f"left out: {reason}"],
                                               "records": [frame.height]}))  # fmt: skip

    def error(self, d: Domain, variable: str | None, message: str) -> None:
        self.issues.append(SdtmIssue(None, variable, None, message, "error", d.file))

    def unmapped(self, d: Domain, frame: pl.DataFrame, value: pl.Expr, mapped: pl.Expr, variable: str, key: str,
                 *, left: str = "left empty (unknown)") -> None:  # fmt: skip
        """A warning counting the values of ``variable`` outside its value map ``key``."""
        outside = frame.select(value.filter(value.is_not_null() & mapped.is_null()).alias("v"))["v"]
        if outside.len() == 0:
            return
        counts = outside.value_counts(sort=True)
        shown = ", ".join(f"{v!r} ({n})" for v, n in counts.head(8).iter_rows())
        more = f" and {counts.height - 8} more" if counts.height > 8 else ""
        self.issues.append(SdtmIssue(None, variable, None, f"{outside.len()} value(s) outside the value map "
                                     f"`sdtm.{key}`, {left}: {shown}{more}", "warning", d.file))  # fmt: skip


def _require(b: _Builder, d: Domain, variables: Sequence[str]) -> bool:
    missing = [v for v in variables if not d.has(v)]
    for variable in missing:
        b.error(d, variable, f"the {d.name} domain has no {variable} variable, which the mapping needs")
    return not missing


def _firsts(frame: pl.DataFrame) -> pl.DataFrame:
    """``_order, RECORD`` of each subject's first row of ``frame`` (columns ``USUBJID``,
    ``_date``, ``_order``, ``RECORD``; see the module's docstring)."""
    ordered = frame.sort("_date", "_order", RECORD, nulls_last=True)
    return ordered.unique("USUBJID", keep="first", maintain_order=True).select("_order", RECORD)


def map_domains(domains: dict[str, Domain], config: SDTMConfig) -> Mapped:
    """Every domain's records as event rows (see the module's docstring)."""
    b = _Builder()
    for name in DOMAINS[1:]:
        if name not in domains:
            b.issues.append(Issue(None, None, None, f"no {name} domain: {MISSING_COSTS[name]}", "warning"))
    dm = domains["DM"]
    ok = {name: _require(b, d, ["USUBJID"]) for name, d in domains.items() if name in DOMAINS}
    covariates = None
    dm_deaths = pl.Series("USUBJID", [], pl.String)
    if ok["DM"]:
        covariates, dm_deaths = _dm(b, dm, config)
    infusions = _exposure(b, domains, config, ok)
    if "RS" in domains and ok["RS"]:
        _rs(b, domains["RS"], config)
    if "AE" in domains and ok["AE"]:
        _ae(b, domains["AE"], config)
    if "PR" in domains and ok["PR"]:
        _pr(b, domains["PR"], config, infusions)
    _deaths(b, domains, config, ok, dm_deaths)
    if "SV" in domains and ok["SV"] and _require(b, domains["SV"], ["SVSTDTC"]):
        sv = domains["SV"]
        dated = sv.frame.filter(sv.col("SVSTDTC").is_not_null())
        b.add(sv, dated, "contact", "SVSTDTC")
        b.leave_out(sv, sv.frame.filter(sv.col("SVSTDTC").is_null()), "no SVSTDTC")
    if "SS" in domains and ok["SS"] and _require(b, domains["SS"], ["SSSTRESC", "SSDTC"]):
        ss = domains["SS"]
        alive = _in(ss.col("SSSTRESC"), config.alive_statuses)
        b.add(ss, ss.frame.filter(alive & ss.col("SSDTC").is_not_null()), "contact", "SSDTC")
        b.leave_out(ss, ss.frame.filter(alive & ss.col("SSDTC").is_null()), "no SSDTC")
        b.leave_out(ss, ss.frame.filter(~alive), f"SSSTRESC not in {', '.join(config.alive_statuses)}")
    rows = pl.concat(b.rows, how="vertical") if b.rows else pl.DataFrame(schema=ROW_SCHEMA)
    studyid = dm.col("STUDYID").drop_nulls().first() if dm.has("STUDYID") else None
    return Mapped(rows=rows, report=_report(b, domains), issues=b.issues, covariates=covariates, rules=b.rules,
                  files={name: d.file for name, d in domains.items()},
                  studyid=dm.frame.select(studyid).item() if studyid is not None else None)  # fmt: skip


def _dm(b: _Builder, dm: Domain, config: SDTMConfig) -> tuple[pl.DataFrame, pl.Series]:
    enrolled = config.enrolled_date.upper()
    if not dm.has(enrolled):
        b.error(dm, enrolled, f"the DM domain has no {enrolled} variable (the enrolment date, "
                              "`sdtm.enrolled_date`)")  # fmt: skip
    else:
        b.add(dm, dm.frame.filter(dm.col(enrolled).is_not_null()), "enrolled", enrolled)
        b.leave_out(dm, dm.frame.filter(dm.col(enrolled).is_null()), f"no {enrolled} (not enrolled)")
    death = config.death_date.upper()
    dm_deaths = dm.frame.filter(dm.col(death).is_not_null()).get_column("USUBJID")
    dupes = dm.frame.filter(~pl.col("USUBJID").is_first_distinct() & pl.col("USUBJID").is_not_null())
    for record, subject in dupes.select(RECORD, "USUBJID").iter_rows():
        b.issues.append(SdtmIssue(record, "USUBJID", subject, "a second DM record for this subject; DM has one "
                                  "record per subject", "error", dm.file))  # fmt: skip
    present = [v.upper() for v in config.covariates if dm.has(v)]
    covariates = dm.frame.select(pl.col("USUBJID").alias("subject_id"), *present).unique("subject_id", keep="first",
                                                                                          maintain_order=True)  # fmt: skip
    return covariates, dm_deaths


def _exposure(b: _Builder, domains: dict[str, Domain], config: SDTMConfig, ok: dict[str, bool]) -> pl.DataFrame:
    """Infusion (EX) and lymphodepletion (EX, CM): the first record per subject of each.
    Returns each subject's infusion date (``USUBJID``, ``_infusion``: a full date as text, or null)."""
    parts = {"infusion": [], "lymphodepletion": []}
    ex = domains.get("EX")
    if ex is not None and ok["EX"] and _require(b, ex, ["EXSTDTC", "EXTRT"]):
        ld = _in(ex.col("EXCAT"), config.lymphodepletion_categories) | _in(ex.col("EXTRT"), config.lymphodepletion_treatments)
        product = ~ld
        if config.product_treatments:
            product = product & _in(ex.col("EXTRT"), config.product_treatments)
        base = ex.frame.with_columns(_date(ex.col("EXSTDTC")).alias("_date"), pl.lit(1, pl.Int64).alias("_order"))
        parts["infusion"].append((ex, base.filter(product), "EXSTDTC"))
        parts["lymphodepletion"].append((ex, base.filter(ld), "EXSTDTC"))
        b.leave_out(ex, base.filter(~ld & ~product), "EXTRT not in `sdtm.product_treatments` nor lymphodepletion")
    cm = domains.get("CM")
    if cm is not None and ok["CM"] and _require(b, cm, ["CMSTDTC", "CMTRT"]):
        ld = _in(cm.col("CMCAT"), config.lymphodepletion_categories) | _in(cm.col("CMTRT"), config.lymphodepletion_treatments)
        therapy = ~ld & (_in(cm.col("CMCAT"), config.new_therapy_categories)
                         | _in(cm.col("CMSCAT"), config.new_therapy_categories))  # fmt: skip
        base = cm.frame.with_columns(_date(cm.col("CMSTDTC")).alias("_date"), pl.lit(2, pl.Int64).alias("_order"))
        parts["lymphodepletion"].append((cm, base.filter(ld), "CMSTDTC"))
        b.add(cm, base.filter(therapy), "new_therapy", "CMSTDTC")
        b.leave_out(cm, base.filter(~ld & ~therapy), "not lymphodepletion nor a new anti-cancer therapy")
    infusions = pl.DataFrame(schema={"USUBJID": pl.String, "_infusion": pl.String})
    for event, sources in parts.items():
        if not sources:
            continue
        common = ["USUBJID", "_date", "_order", RECORD]
        every = pl.concat([frame.select(common) for _, frame, _ in sources], how="vertical")
        firsts = _firsts(every)
        for d, frame, date_var in sources:
            first = frame.join(firsts, on=["_order", RECORD], how="semi")
            b.add(d, first, event, date_var)
            b.leave_out(d, frame.join(firsts, on=["_order", RECORD], how="anti"),
                        f"a later {event} record (the first per subject is the {event})")  # fmt: skip
            if event == "infusion":
                full = pl.col("_date").str.contains(r"^\d{4}-\d{2}-\d{2}$")
                infusions = first.select("USUBJID", pl.when(full).then(pl.col("_date")).alias("_infusion"))
    return infusions


def _rs(b: _Builder, rs: Domain, config: SDTMConfig) -> None:
    if not _require(b, rs, ["RSTESTCD", "RSSTRESC", "RSDTC"]):
        return
    testcd = rs.upper("RSTESTCD")
    not_done = rs.upper("RSSTAT").fill_null("") == "NOT DONE"
    by_evaluator = _in(rs.col("RSEVAL"), config.evaluators) & ~not_done
    response = (testcd == config.response_test.strip().upper()) & by_evaluator
    relapse = response & _in(rs.col("RSSTRESC"), config.relapse_results)
    assessment = response & ~relapse
    mrd = (testcd == config.mrd_test.strip().upper()) & by_evaluator
    site = pl.when(rs.col("RSLOC").is_null() | _in(rs.col("RSLOC"), config.marrow_locations)).then(
        pl.lit("hematologic")).otherwise(pl.lit("extramedullary"))  # fmt: skip
    result = _mapped(rs.col("RSSTRESC"), config.response_map)
    frame = rs.frame.with_columns(_date(rs.col("RSDTC")).alias("_date"))
    assessments = frame.filter(assessment)
    # an unmapped result goes on as written: the format's check names it (and the key, below)
    b.unmapped(rs, assessments, rs.col("RSSTRESC"), result, "RSSTRESC", "response_map",
               left="which is an error (the result of an assessment is required)")  # fmt: skip
    mrd_value = _mapped(rs.col("RSSTRESC"), config.mrd_map)
    mrd_rows = frame.filter(mrd)
    b.unmapped(rs, mrd_rows, rs.col("RSSTRESC"), mrd_value, "RSSTRESC", "mrd_map")
    mrd_by_date = (
        mrd_rows.sort(RECORD).group_by("USUBJID", "_date", maintain_order=True)
        .agg(mrd_value.first().alias("_mrd"))
    )  # fmt: skip
    assessments = assessments.join(mrd_by_date, on=["USUBJID", "_date"], how="left", nulls_equal=False,
                                   maintain_order="left")  # fmt: skip
    b.add(rs, assessments, "assessment", "RSDTC", result=(pl.coalesce(result, rs.col("RSSTRESC")), "RSSTRESC"),
          mrd=(pl.col("_mrd"), "RSSTRESC"))  # fmt: skip
    b.add(rs, frame.filter(relapse), "relapse", "RSDTC", result=(site, "RSLOC"))
    matched = mrd_rows.join(assessments.select("USUBJID", "_date").unique(), on=["USUBJID", "_date"], how="semi")
    b.leave_out(rs, matched, f"{config.mrd_test} result, given to the assessment of its date")
    b.leave_out(rs, mrd_rows.join(matched, on=RECORD, how="anti"),
                f"{config.mrd_test} result without an {config.response_test} assessment on its date")  # fmt: skip
    tests = f"{config.response_test} or {config.mrd_test}"
    tested = testcd.is_in([config.response_test.upper(), config.mrd_test.upper()])
    b.leave_out(rs, frame.filter(tested & not_done), "not done (RSSTAT)")
    b.leave_out(rs, frame.filter(tested & ~not_done & ~by_evaluator), "another evaluator (RSEVAL not in `sdtm.evaluators`)")
    b.leave_out(rs, frame.filter(~testcd.fill_null("").is_in([config.response_test.upper(), config.mrd_test.upper()])),
                f"RSTESTCD not {tests}")  # fmt: skip


def _ae(b: _Builder, ae: Domain, config: SDTMConfig) -> None:
    if not _require(b, ae, ["AESTDTC"]):
        return
    grade_var = config.ae_grade.upper()
    if ae.has(grade_var):
        grade = (ae.col(grade_var), grade_var)
        if config.grade_from_severity and ae.has("AESEV"):
            grade = (pl.coalesce(ae.col(grade_var), _mapped(ae.col("AESEV"), config.severity_map)), grade_var)
    elif config.grade_from_severity and ae.has("AESEV"):
        severity = _mapped(ae.col("AESEV"), config.severity_map)
        b.unmapped(ae, ae.frame, ae.col("AESEV"), severity, "AESEV", "severity_map",
                   left="left empty, which is an error (an AE needs its grade)")  # fmt: skip
        grade = (severity, "AESEV")
    else:
        way = ("set `sdtm.grade_from_severity = true` in the [sdtm] configuration to take the grade from AESEV "
               "(MILD 1, MODERATE 2, SEVERE 3: `sdtm.severity_map`; a severity is not a CTCAE grade), or name the "
               "grade variable with `sdtm.ae_grade`")  # fmt: skip
        if config.grade_from_severity:
            way = "`sdtm.grade_from_severity` is set but AE has no AESEV either; name the grade variable with `sdtm.ae_grade`"
        b.error(ae, grade_var, f"the AE domain has no {grade_var} variable (the CTCAE grade), so its "
                               f"{ae.frame.height} AE record(s) cannot be graded and none is dropped silently: {way}")  # fmt: skip
        return
    terms = [v.upper() for v in config.ae_term if ae.has(v)]
    if not terms:
        b.error(ae, "/".join(config.ae_term), f"the AE domain has none of {', '.join(config.ae_term)} (the AE's term, "
                                              "`sdtm.ae_term`)")  # fmt: skip
        return
    serious = _mapped(ae.col("AESER"), config.serious_map)
    related = _mapped(ae.col("AEREL"), config.related_map)
    b.unmapped(ae, ae.frame, ae.col("AESER"), serious, "AESER", "serious_map")
    b.unmapped(ae, ae.frame, ae.col("AEREL"), related, "AEREL", "related_map")
    # a year-only onset (AESTDTC = YYYY) goes on as written: the event format's reader imputes
    # it (cart19.io.validate.impute: 1 January, or the infusion date in the infusion's year; flag M)
    b.add(ae, ae.frame, "ae", "AESTDTC",
          end_date=(_date(ae.col("AEENDTC")), "AEENDTC"), grade=grade, term=(pl.coalesce(terms), terms[0]),
          soc=(ae.col("AEBODSYS"), "AEBODSYS"), serious=(serious, "AESER"), related=(related, "AEREL"))  # fmt: skip


def _pr(b: _Builder, pr: Domain, config: SDTMConfig, infusions: pl.DataFrame) -> None:
    if not _require(b, pr, ["PRSTDTC"]):
        return
    words = _values(config.hsct_words)
    text = pl.concat_str(pr.upper("PRTRT").fill_null(""), pr.upper("PRDECOD").fill_null(""), separator=" ")
    transplant = pl.any_horizontal([text.str.contains(word, literal=True) for word in words]) if words else pl.lit(False)
    frame = pr.frame.join(infusions, on="USUBJID", how="left", maintain_order="left")
    date = _date(pr.col("PRSTDTC"))
    before = (date < pl.col("_infusion")).fill_null(False)
    b.add(pr, frame.filter(transplant & ~before), "hsct", "PRSTDTC")
    b.leave_out(pr, frame.filter(transplant & before), "a transplant before the infusion")
    b.leave_out(pr, frame.filter(~transplant), "not a transplant (`sdtm.hsct_words`)")


def _deaths(b: _Builder, domains: dict[str, Domain], config: SDTMConfig, ok: dict[str, bool],
            dm_deaths: pl.Series) -> None:  # fmt: skip
    """Deaths (DM, else DS) with their cause (DD, else DSTERM), end of treatment and
    withdrawal (DS)."""
    causes = pl.DataFrame(schema={"USUBJID": pl.String, "_cause": pl.String})
    dd = domains.get("DD")
    if dd is not None and ok["DD"] and _require(b, dd, ["DDTESTCD", "DDSTRESC"]):
        is_cause = dd.upper("DDTESTCD") == config.death_cause_test.strip().upper()
        cause_rows = dd.frame.filter(is_cause)
        causes = cause_rows.sort(RECORD).group_by("USUBJID", maintain_order=True).agg(
            pl.col("DDSTRESC").drop_nulls().first().alias("_cause"))  # fmt: skip
        if cause_rows.height:
            b.outcomes.append(pl.DataFrame({"domain": ["DD"], "outcome": ["cause of death"],
                                            "records": [cause_rows.height]}))  # fmt: skip
        b.leave_out(dd, dd.frame.filter(~is_cause), f"DDTESTCD not {config.death_cause_test}")
    ds = domains.get("DS")
    ds_ok = ds is not None and ok["DS"] and _require(b, ds, ["DSDECOD", "DSSTDTC"])
    ds_terms = pl.DataFrame(schema={"USUBJID": pl.String, "_dsterm": pl.String})
    if ds_ok:
        assert ds is not None
        decod = ds.upper("DSDECOD")
        death = decod == config.death_reason.strip().upper()
        # a DSTERM that only says DEATH again names no cause
        term = ds.col("DSTERM")
        term = pl.when(term.str.to_uppercase() != config.death_reason.strip().upper()).then(term)
        ds_terms = ds.frame.filter(death).sort(RECORD).group_by("USUBJID", maintain_order=True).agg(
            term.drop_nulls().first().alias("_dsterm"))  # fmt: skip
    cause_text = pl.coalesce("_cause", "_dsterm")
    cause = pl.when(cause_text.is_null()).then(pl.lit(config.death_cause_missing)).otherwise(
        pl.coalesce(_mapped(cause_text, config.death_cause_map), pl.lit(config.death_cause_other)))  # fmt: skip

    def with_cause(frame: pl.DataFrame) -> pl.DataFrame:
        return (frame.join(causes, on="USUBJID", how="left", maintain_order="left")
                .join(ds_terms, on="USUBJID", how="left", maintain_order="left"))  # fmt: skip

    dm = domains["DM"]
    if ok["DM"] and dm.has(config.death_date):
        b.add(dm, with_cause(dm.frame.filter(dm.col(config.death_date).is_not_null())), "death",
              config.death_date, result=(cause, "DDSTRESC"))  # fmt: skip
    if not ds_ok:
        return
    assert ds is not None
    decod = ds.upper("DSDECOD")
    withdrawal = _in(ds.col("DSDECOD"), config.withdrawal_reasons)
    eot = (ds.upper("EPOCH") == config.end_of_treatment_epoch.strip().upper()) & (
        ds.upper("DSCAT") == config.end_of_treatment_category.strip().upper())  # fmt: skip
    death = decod == config.death_reason.strip().upper()
    in_dm = pl.col("USUBJID").is_in(dm_deaths.implode())
    eot, withdrawal = eot.fill_null(False), withdrawal.fill_null(False)
    death, ds_death = death.fill_null(False), (death & ~in_dm).fill_null(False)
    b.add(ds, ds.frame.filter(eot), "end_of_treatment", "DSSTDTC")
    b.add(ds, ds.frame.filter(withdrawal), "withdrawal", "DSSTDTC")
    b.add(ds, with_cause(ds.frame.filter(ds_death)), "death", "DSSTDTC", result=(cause, "DSTERM"))
    b.leave_out(ds, ds.frame.filter(death & in_dm & ~eot & ~withdrawal), "a death DM records too (DM wins)")
    b.leave_out(ds, ds.frame.filter(~death & ~eot & ~withdrawal), "not end of treatment, withdrawal or death")


def _report(b: _Builder, domains: dict[str, Domain]) -> pl.DataFrame:
    """``domain, file, read, outcome, records`` in :data:`DOMAINS` order: events by kind,
    then the records left out by reason; a missing domain is one row."""
    parts = [p.with_columns(pl.col("records").cast(pl.Int64)) for p in b.outcomes]
    empty = pl.DataFrame(schema={"domain": pl.String, "outcome": pl.String, "records": pl.Int64})
    outcomes = pl.concat([empty, *parts], how="vertical").group_by("domain", "outcome").agg(pl.col("records").sum())
    lines = []
    for name in DOMAINS:
        if name not in domains:
            lines.append({"domain": name, "file": None, "read": 0, "outcome": f"missing: {MISSING_COSTS.get(name, '')}"
                          if name != "DM" else "missing", "records": 0})  # fmt: skip
            continue
        d = domains[name]
        mine = outcomes.filter(pl.col("domain") == name)
        mapped = mine.filter(~pl.col("outcome").str.starts_with("left out")).sort("outcome")
        left = mine.filter(pl.col("outcome").str.starts_with("left out")).sort("records", "outcome", descending=[True, False])
        for outcome, records in [*mapped.select("outcome", "records").iter_rows(),
                                 *left.select("outcome", "records").iter_rows()]:  # fmt: skip
            lines.append({"domain": name, "file": d.file, "read": d.frame.height, "outcome": outcome, "records": records})
        if mine.height == 0:
            lines.append({"domain": name, "file": d.file, "read": d.frame.height, "outcome": "no records", "records": 0})
    schema = {"domain": pl.String, "file": pl.String, "read": pl.Int64, "outcome": pl.String, "records": pl.Int64}
    return pl.DataFrame(lines, schema=schema, orient="row")
