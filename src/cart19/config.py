"""The analysis configuration: every window, response set, term list and rule of
``shared/spec/endpoints.md``, with the spec's values as defaults.

The rules are data. A site changes a window, a response set, a DLT criterion or the stopping
rule in a TOML file (``--config cart19.toml``); the engine reads them from here and has no
other copy of them. ``cart19 config`` prints :func:`default_toml`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cart19.model import ASSESSMENT_RESULTS, DEATH_CAUSES, EVENT_KINDS
from cart19.errors import ConfigError  # noqa: F401 - raised here, and importable from here as before

EventKind = Literal[
    "enrolled",
    "lymphodepletion",
    "infusion",
    "assessment",
    "relapse",
    "ae",
    "hsct",
    "new_therapy",
    "end_of_treatment",
    "contact",
    "death",
    "withdrawal",
]
assert set(EventKind.__args__) == set(EVENT_KINDS)  # type: ignore[attr-defined]

ResponseSetName = Literal["remission", "response", "dor_response"]
Days = Annotated[int, Field(ge=1, le=36_500)]
Grade = Annotated[int, Field(ge=1, le=5)]
#: An ADaM parameter code: a letter, then up to 7 letters, digits or underscores.
ParamCode = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,7}$")]
Label = Annotated[str, Field(min_length=1)]
#: A confidence level or probability a person would ask for.
Level = Annotated[float, Field(ge=0.5, lt=1)]


class _Section(BaseModel):
    """A configuration section: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


def _check_results(values: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [v for v in values if v not in ASSESSMENT_RESULTS]
    if unknown:
        raise ValueError(f"unknown assessment result(s) {unknown}; allowed: {list(ASSESSMENT_RESULTS)}")
    if not values:
        raise ValueError("a response set may not be empty")
    return values


class ResponseSets(_Section):
    """Named sets of assessment results (endpoints.md, "Response sets")."""

    remission: tuple[str, ...] = ("CR", "CRh", "CRi")
    response: tuple[str, ...] = ("CR", "CRh", "CRi", "MLFS", "PR")
    dor_response: tuple[str, ...] = ("CR", "CRh", "CRi", "PR")

    _valid = field_validator("remission", "response", "dor_response")(_check_results)

    def get(self, name: ResponseSetName) -> tuple[str, ...]:
        return getattr(self, name)


class OSConfig(_Section):
    """OS: start at the origin, death of any cause within the window (endpoints.md, OS)."""

    paramcd: ParamCode = "OS"
    param: Label = "Overall Survival (days)"
    origin_event: EventKind = "infusion"
    window_days: Days = 730


EFSFailureDate = Literal["start", "actual", "end_of_treatment", "next_therapy"]


class EFSParameter(_Section):
    """One EFS parameter: how the date of a treatment-failure event is chosen.

    * ``start`` - the start date (AVAL = 1): the primary analysis.
    * ``actual`` - the second non-responding adequate assessment, or the start of the next
      therapy when that came first.
    * ``end_of_treatment`` - the ``end_of_treatment`` date (``actual`` where there is none).
    * ``next_therapy`` - the start of ``new_therapy`` or ``hsct`` (``actual`` where none).
    """

    paramcd: ParamCode
    param: Label
    failure_date: EFSFailureDate


class EFSConfig(_Section):
    """EFS: treatment failure, relapse or death, whichever first (endpoints.md, EFS)."""

    origin_event: EventKind = "infusion"
    window_days: Days = 365
    #: Results that count as a response (no response at the efficacy assessments = failure).
    response_set: ResponseSetName = "response"
    #: How many adequate assessments after the infusion make up "the efficacy assessments".
    efficacy_assessments: Annotated[int, Field(ge=1, le=10)] = 2
    #: A ``new_therapy`` or ``hsct`` started before any response is a treatment failure.
    therapy_before_response_is_failure: bool = True
    #: A death before the efficacy assessments are complete, without a response:
    #: ``death_date`` (this trial) or ``failure`` (ELN 2022 style: a treatment failure).
    death_before_assessments: Literal["death_date", "failure"] = "death_date"
    parameters: tuple[EFSParameter, ...] = (
        EFSParameter(paramcd="EFS", param="Event-Free Survival (days)", failure_date="start"),
        EFSParameter(
            paramcd="EFSS1",
            param="Event-Free Survival, Failure at Actual Date (days)",
            failure_date="actual",
        ),
        EFSParameter(
            paramcd="EFSS2",
            param="Event-Free Survival, Failure at End of Treatment (days)",
            failure_date="end_of_treatment",
        ),
        EFSParameter(
            paramcd="EFSS3",
            param="Event-Free Survival, Failure at Next-Line Therapy (days)",
            failure_date="next_therapy",
        ),
    )

    @field_validator("parameters")
    @classmethod
    def _unique_paramcd(cls, value: tuple[EFSParameter, ...]) -> tuple[EFSParameter, ...]:
        codes = [p.paramcd for p in value]
        if len(set(codes)) != len(codes):
            raise ValueError(f"EFS parameter codes must be unique, got {codes}")
        return value


class DORConfig(_Section):
    """DOR: from the first response to relapse, PD or death of disease (endpoints.md, DOR)."""

    paramcd: ParamCode = "DOR"
    param: Label = "Duration of Remission (days)"
    window_days: Days = 365
    response_set: ResponseSetName = "dor_response"
    #: Death causes that are DOR events; deaths of other causes censor.
    event_death_causes: tuple[str, ...] = ("disease",)
    censor_at_new_therapy: bool = True
    #: Censor at an ``hsct`` after the response (consolidative transplant). Default: no.
    censor_at_hsct: bool = False

    @field_validator("event_death_causes")
    @classmethod
    def _known_causes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in DEATH_CAUSES]
        if unknown:
            raise ValueError(f"unknown death cause(s) {unknown}; allowed: {list(DEATH_CAUSES)}")
        return value


class RFSConfig(DORConfig):
    """RFS: from the first remission to relapse, PD or death of any cause (efficacy.md, RFS).

    The rules of DOR with other data: the population is the ``remission`` set, every death is
    an event, and the window is 730 days. Censoring as DOR (new therapy; HSCT only when
    ``censor_at_hsct``)."""

    paramcd: str = "RFS"
    param: str = "Relapse-Free Survival (days)"
    window_days: Days = 730
    response_set: ResponseSetName = "remission"
    event_death_causes: tuple[str, ...] = DEATH_CAUSES


class CumincConfig(_Section):
    """Cumulative incidence of relapse and non-relapse mortality (efficacy.md, CIR and NRM)."""

    paramcd: str = "CIR"
    #: ``remission``: subjects in remission, from the first remission (as RFS);
    #: ``infusion``: every infused subject, from the infusion.
    origin: Literal["remission", "infusion"] = "remission"
    window_days: Days = 730
    #: The results that make the remission population (``origin = "remission"``).
    response_set: ResponseSetName = "remission"
    #: A death of disease with no earlier relapse is a relapse (status 1); else NRM (status 2).
    disease_death_as_relapse: bool = True
    #: Censor at the start of ``new_therapy`` when it comes before relapse or death.
    censor_at_new_therapy: bool = True
    #: An ``hsct`` after the start: ``ignore``d, ``censor``s at its date, or a ``competing``
    #: event (status 2) at its date.
    hsct: Literal["ignore", "censor", "competing"] = "ignore"


class TEAEConfig(_Section):
    """TEAE: onset on or after the infusion and within the window (endpoints.md, TEAE)."""

    window_days: Days = 730
    #: Label for an AE without a system organ class in the tables.
    uncoded_soc: Label = "Uncoded"


class DLTRule(_Section):
    """One DLT criterion. An AE with onset in the DLT window meets it when all hold:

    * its preferred term is in ``terms`` or one of ``term_groups``, or its SOC is in ``socs``
      (all three empty: any AE);
    * its term is not in ``exclude_terms`` / ``exclude_term_groups`` and its SOC not in
      ``exclude_socs``;
    * ``min_grade <= grade <= max_grade``;
    * with ``longer_than_days``: its duration (``end_date - date + 1``; an ongoing AE lasts
      until the subject's last record) is more than that many days;
    * with ``not_resolved_by_day``: it is ongoing, or its ``end_date`` is after that study day.

    Terms and SOCs match case-insensitively, with hyphens read as spaces.
    """

    name: str = Field(min_length=1)
    description: str = ""
    terms: tuple[str, ...] = ()
    term_groups: tuple[str, ...] = ()
    socs: tuple[str, ...] = ()
    exclude_terms: tuple[str, ...] = ()
    exclude_term_groups: tuple[str, ...] = ()
    exclude_socs: tuple[str, ...] = ()
    min_grade: Grade = 1
    max_grade: Grade = 5
    longer_than_days: Annotated[int, Field(ge=0)] | None = None
    not_resolved_by_day: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _grades_ordered(self) -> DLTRule:
        if self.min_grade > self.max_grade:
            raise ValueError(f"min_grade {self.min_grade} is above max_grade {self.max_grade}")
        return self


_CRS = ("Cytokine release syndrome",)
_ICANS = ("Immune effector cell-associated neurotoxicity syndrome", "ICANS")
_AGVHD = ("Acute graft versus host disease", "Graft versus host disease")
_CYTOPENIA = ("Neutrophil count decreased", "Platelet count decreased", "Neutropenia", "Thrombocytopenia")
_HAEM_OTHER = ("White blood cell count decreased", "Lymphocyte count decreased", "Anaemia", "Anemia")
_PROGRESSION = ("Disease progression", "Malignant neoplasm progression")
_ELECTROLYTE = (
    "Hypokalaemia", "Hypokalemia",
    "Hyponatraemia", "Hyponatremia",
    "Hypophosphataemia", "Hypophosphatemia",
    "Hypocalcaemia", "Hypocalcemia",
    "Hypomagnesaemia", "Hypomagnesemia",
)  # fmt: skip
_BLOOD_SOC = "Blood and lymphatic system disorders"

_RULE5_EXCLUSIONS = ("crs", "icans", "acute_gvhd", "cytopenia", "haematological", "disease_progression", "electrolyte", "fever")


def _default_dlt_rules() -> tuple[DLTRule, ...]:
    return (
        DLTRule(name="crs_grade4", description="Rule 1: grade 4 or 5 cytokine release syndrome",
                term_groups=("crs",), min_grade=4),
        DLTRule(name="crs_grade3_over_3d", description="Rule 1: grade 3 CRS lasting more than 3 days (72 hours)",
                term_groups=("crs",), min_grade=3, max_grade=3, longer_than_days=3),
        DLTRule(name="icans_grade4", description="Rule 2: grade 4 ICANS",
                term_groups=("icans",), min_grade=4, max_grade=4),
        DLTRule(name="icans_grade3_over_3d", description="Rule 2: grade 3 ICANS lasting more than 3 days (72 hours)",
                term_groups=("icans",), min_grade=3, max_grade=3, longer_than_days=3),
        DLTRule(name="acute_gvhd_grade3", description="Rule 3: grade 3 or 4 acute GVHD",
                term_groups=("acute_gvhd",), min_grade=3, max_grade=4),
        DLTRule(name="grade5_not_progression", description="Rule 4: grade 5 of any AE not due to disease progression",
                exclude_term_groups=("disease_progression",), min_grade=5),
        DLTRule(name="nonhaem_grade4", description="Rule 5: other non-haematological AE of grade 4",
                exclude_term_groups=_RULE5_EXCLUSIONS, exclude_socs=(_BLOOD_SOC,), min_grade=4, max_grade=4),
        DLTRule(name="nonhaem_grade3_over_7d",
                description="Rule 5: other non-haematological AE of grade 3 lasting more than 7 days",
                exclude_term_groups=_RULE5_EXCLUSIONS, exclude_socs=(_BLOOD_SOC,), min_grade=3, max_grade=3,
                longer_than_days=7),
        DLTRule(name="cytopenia_grade4_unresolved_day28",
                description="Rule 6: grade 4 neutropenia or thrombocytopenia not resolved by day 28",
                term_groups=("cytopenia",), min_grade=4, max_grade=4, not_resolved_by_day=28),
    )  # fmt: skip


class DLTConfig(_Section):
    """DLT: AEs with onset from day 0 to ``window_days`` inclusive (endpoints.md, DLT)."""

    window_days: Annotated[int, Field(ge=0, le=3650)] = 28
    #: A subject with a record on or after this study day was followed through the window.
    evaluable_through_day: Annotated[int, Field(ge=0, le=3650)] = 28
    term_groups: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "crs": _CRS,
            "icans": _ICANS,
            "acute_gvhd": _AGVHD,
            "cytopenia": _CYTOPENIA,
            "haematological": _HAEM_OTHER,
            "disease_progression": _PROGRESSION,
            "electrolyte": _ELECTROLYTE,
            "fever": ("Pyrexia", "Febrile neutropenia"),
        }
    )
    rules: tuple[DLTRule, ...] = Field(default_factory=_default_dlt_rules)

    @model_validator(mode="after")
    def _groups_exist(self) -> DLTConfig:
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"DLT rule names must be unique, got {names}")
        for rule in self.rules:
            for group in (*rule.term_groups, *rule.exclude_term_groups):
                if group not in self.term_groups:
                    raise ValueError(
                        f"DLT rule {rule.name!r} names term group {group!r}, which is not in "
                        f"dlt.term_groups (known: {sorted(self.term_groups)})"
                    )
        return self


class StoppingRule(_Section):
    """Stop when P(true DLT rate > threshold | data) > probability, Beta(prior) prior."""

    dlt_rate_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.30
    posterior_probability: Annotated[float, Field(gt=0, lt=1)] = 0.8
    #: Beta prior parameters: positive, and at most a prior worth 1000 subjects
    prior_alpha: Annotated[float, Field(gt=0, le=1000)] = 1.0
    prior_beta: Annotated[float, Field(gt=0, le=1000)] = 1.0
    confidence_level: Level = 0.95


class KMConfig(_Section):
    """Kaplan-Meier summaries (cli.md, ``km``)."""

    landmarks_months: tuple[Annotated[float, Field(gt=0, le=1200)], ...] = (6.0, 12.0, 24.0)
    #: a month in days: 28 to 31 (30.4375 = 365.25 / 12)
    days_per_month: Annotated[float, Field(ge=28, le=31)] = 30.4375
    confidence_level: Level = 0.95


class ResponseRate(_Section):
    """One response rate: the subjects whose best overall response is in ``bor_in`` (a named
    response set, or a list of results) and, with ``mrd_negative``, who had an MRD-negative
    remission in the response window."""

    paramcd: str = Field(min_length=1)
    param: str
    bor_in: ResponseSetName | tuple[str, ...]
    mrd_negative: bool = False

    @field_validator("bor_in")
    @classmethod
    def _known_results(cls, value: ResponseSetName | tuple[str, ...]) -> ResponseSetName | tuple[str, ...]:
        return value if isinstance(value, str) else _check_results(value)


def _default_rates() -> tuple[ResponseRate, ...]:
    return (
        ResponseRate(paramcd="CR", param="Complete remission (CR)", bor_in=("CR",)),
        ResponseRate(paramcd="CRCRH", param="CR or CR with partial haematologic recovery (CR/CRh)",
                     bor_in=("CR", "CRh")),
        ResponseRate(paramcd="REMISSION", param="Overall remission (CR/CRh/CRi)", bor_in="remission"),
        ResponseRate(paramcd="ORR", param="Overall response (CR/CRh/CRi/MLFS/PR)", bor_in="response"),
        ResponseRate(paramcd="MRDNEG", param="MRD-negative remission", bor_in="remission", mrd_negative=True),
    )  # fmt: skip


class ResponseConfig(_Section):
    """Best overall response and response rates (efficacy.md, "Best overall response")."""

    #: Assessments on study day 1 to this day (inclusive) make up the response window.
    window_days: Days = 90
    #: Best first: the best overall response is the first of these a subject reached.
    bor_order: tuple[str, ...] = ASSESSMENT_RESULTS
    #: The results that make a remission (MRD-negative remission, time to first remission).
    remission_set: ResponseSetName = "remission"
    #: The results that make a response (responders, time to first response).
    response_set: ResponseSetName = "response"
    rates: tuple[ResponseRate, ...] = Field(default_factory=_default_rates)
    confidence_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    #: ``clopper-pearson`` (exact; the default) or ``wilson`` (score interval).
    interval: Literal["clopper-pearson", "wilson"] = "clopper-pearson"

    @field_validator("bor_order")
    @classmethod
    def _every_result_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if sorted(value) != sorted(ASSESSMENT_RESULTS):
            raise ValueError(f"bor_order must list every assessment result once: {list(ASSESSMENT_RESULTS)}")
        return value

    @field_validator("rates")
    @classmethod
    def _unique_paramcd(cls, value: tuple[ResponseRate, ...]) -> tuple[ResponseRate, ...]:
        codes = [r.paramcd for r in value]
        if len(set(codes)) != len(codes):
            raise ValueError(f"response rate codes must be unique, got {codes}")
        return value


class StudyConfig(_Section):
    """The study the ADaM datasets belong to (sdtm.md, "Writing ADaM"; docs/adam.md)."""

    #: ``STUDYID`` of every dataset, and the Dataset-JSON ``studyOID``: printable ASCII, no blank
    #: at either end, at most 200 characters (so that it fits an XPT text value).
    studyid: Annotated[str, Field(max_length=200, pattern=r"^[!-~]([ -~]*[!-~])?$")] = "CART19"
    #: Dataset-JSON ``originator``: the organisation that wrote the files.
    originator: Annotated[str, Field(min_length=1, max_length=200)] = "cart19"


class SafetyGroup(_Section):
    """One syndrome of special interest (safety-profile.md): the TEAEs whose term is in
    ``terms`` or whose SOC is in ``socs`` (matched by the one normal form of
    :mod:`cart19.engine.terms`)."""

    name: str = Field(min_length=1)
    terms: tuple[str, ...] = ()
    socs: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> SafetyGroup:
        if not self.terms and not self.socs:
            raise ValueError(f"safety group {self.name!r} names no terms and no SOCs")
        return self


class SafetyPeriod(_Section):
    """A period after the infusion, by study day of onset, both ends included."""

    first_day: Annotated[int, Field(ge=0, le=36_500)]
    last_day: Annotated[int, Field(ge=0, le=36_500)]

    @property
    def label(self) -> str:
        return f"{self.first_day}-{self.last_day}"

    @model_validator(mode="after")
    def _ordered(self) -> SafetyPeriod:
        if self.first_day > self.last_day:
            raise ValueError(f"period first_day {self.first_day} is after last_day {self.last_day}")
        return self


def _default_safety_groups() -> tuple[SafetyGroup, ...]:
    return (
        SafetyGroup(name="CRS", terms=_CRS),
        SafetyGroup(name="ICANS", terms=_ICANS),
        SafetyGroup(name="aGVHD", terms=_AGVHD),
        SafetyGroup(name="cGVHD", terms=("Chronic graft versus host disease",)),
        SafetyGroup(name="infection", socs=("Infections and infestations",)),
        SafetyGroup(name="cytopenia", terms=_CYTOPENIA),
    )


class SafetyConfig(_Section):
    """The CAR-T safety profile (safety-profile.md): syndromes, periods, deaths, disposition."""

    groups: tuple[SafetyGroup, ...] = Field(default_factory=_default_safety_groups)
    #: Rows of a group starting on or before this many days after the latest end so far join
    #: the episode (1: "overlap or follow within one day").
    episode_gap_days: Annotated[int, Field(ge=0, le=365)] = 1
    periods: tuple[SafetyPeriod, ...] = (
        SafetyPeriod(first_day=0, last_day=28),
        SafetyPeriod(first_day=29, last_day=90),
        SafetyPeriod(first_day=91, last_day=365),
        SafetyPeriod(first_day=366, last_day=730),
    )
    #: Deaths are counted on or before each of these study days (and in the OS window).
    death_days: tuple[Annotated[int, Field(ge=0, le=36_500)], ...] = (28, 100)
    #: Non-relapse deaths are counted on or before this study day.
    nrm_day: Annotated[int, Field(ge=0, le=36_500)] = 100
    # A disease death without an earlier relapse is a relapse or not by
    # ``cuminc.disease_death_as_relapse``, and "efficacy-evaluable" uses ``response.window_days``:
    # one setting each, so the safety profile, the response rates and the relapse incidence agree.

    @model_validator(mode="after")
    def _valid(self) -> SafetyConfig:
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"safety group names must be unique, got {names}")
        for before, after in zip(self.periods, self.periods[1:]):
            if after.first_day <= before.last_day:
                raise ValueError(f"safety periods must be in order and not overlap: {before.label} then {after.label}")
        if len(set(self.death_days)) != len(self.death_days):
            raise ValueError(f"death_days must be distinct, got {list(self.death_days)}")
        return self
DeathCause = Literal["disease", "toxicity", "other", "unknown"]


def _sdtm_map(default: dict[str, str]):  # noqa: ANN202 - a pydantic Field
    return Field(default_factory=lambda: dict(default))


class SDTMConfig(_Section):
    """SDTM domains -> events (sdtm.md, "Reading SDTM"; docs/sdtm.md). Which records, which
    variables and the value maps. Value lists and map keys are matched case-insensitively after
    trimming; an empty text in ``evaluators`` stands for an empty ``RSEVAL``."""

    # which variables
    enrolled_date: str = "RFICDTC"
    death_date: str = "DTHDTC"
    ae_term: tuple[str, ...] = ("AEDECOD", "AETERM")
    ae_grade: str = "AETOXGR"
    grade_from_severity: bool = False
    covariates: tuple[str, ...] = ("AGE", "SEX", "RACE", "ARMCD", "ACTARMCD", "SITEID", "COUNTRY")
    # which records
    product_treatments: tuple[str, ...] = ()
    lymphodepletion_categories: tuple[str, ...] = ("LYMPHODEPLETION", "LYMPHODEPLETING CHEMOTHERAPY")
    lymphodepletion_treatments: tuple[str, ...] = ("FLUDARABINE", "CYCLOPHOSPHAMIDE")
    response_test: str = "OVRLRESP"
    evaluators: tuple[str, ...] = ("", "INVESTIGATOR")
    mrd_test: str = "MRD"
    relapse_results: tuple[str, ...] = ("RELAPSE", "RELAPSED DISEASE")
    marrow_locations: tuple[str, ...] = ("BONE MARROW", "BLOOD")
    hsct_words: tuple[str, ...] = ("TRANSPLANT", "HSCT")
    new_therapy_categories: tuple[str, ...] = ("SUBSEQUENT ANTI-CANCER THERAPY", "NEW ANTI-CANCER THERAPY")
    end_of_treatment_epoch: str = "TREATMENT"
    end_of_treatment_category: str = "DISPOSITION EVENT"
    withdrawal_reasons: tuple[str, ...] = ("WITHDRAWAL BY SUBJECT", "WITHDRAWAL BY PARENT/GUARDIAN", "LOST TO FOLLOW-UP")
    death_reason: str = "DEATH"
    death_cause_test: str = "PRCDTH"
    alive_statuses: tuple[str, ...] = ("ALIVE",)
    # value maps
    response_map: dict[str, str] = _sdtm_map({"CR": "CR", "CRH": "CRh", "CRI": "CRi", "MLFS": "MLFS", "PR": "PR",
                                              "NR": "NR", "SD": "NR", "PD": "PD", "NE": "NE"})
    mrd_map: dict[str, Literal["negative", "positive"]] = _sdtm_map({"NEGATIVE": "negative", "POSITIVE": "positive"})
    related_map: dict[str, Literal["Y", "N"]] = _sdtm_map({
        "RELATED": "Y", "POSSIBLY RELATED": "Y", "PROBABLY RELATED": "Y", "DEFINITELY RELATED": "Y", "Y": "Y",
        "NOT RELATED": "N", "UNLIKELY RELATED": "N", "N": "N"})
    serious_map: dict[str, Literal["Y", "N"]] = _sdtm_map({"Y": "Y", "N": "N"})
    severity_map: dict[str, int] = Field(default_factory=lambda: {"MILD": 1, "MODERATE": 2, "SEVERE": 3})
    death_cause_map: dict[str, str] = _sdtm_map({
        "DISEASE PROGRESSION": "disease", "PROGRESSIVE DISEASE": "disease", "DISEASE RELAPSE": "disease",
        "LEUKAEMIA": "disease", "LEUKEMIA": "disease", "TREATMENT-RELATED TOXICITY": "toxicity",
        "ADVERSE EVENT": "toxicity", "TOXICITY": "toxicity"})
    death_cause_other: DeathCause = "other"
    death_cause_missing: DeathCause = "unknown"

    @field_validator("response_map")
    @classmethod
    def _known_results(cls, value: dict[str, str]) -> dict[str, str]:
        _check_results(tuple(value.values()))
        return value

    @field_validator("severity_map")
    @classmethod
    def _grades(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if not 1 <= v <= 5}
        if bad:
            raise ValueError(f"a grade is 1-5: {bad}")
        return value

    @field_validator("death_cause_map")
    @classmethod
    def _causes(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({v for v in value.values() if v not in DEATH_CAUSES})
        if unknown:
            raise ValueError(f"unknown death cause(s) {unknown}; allowed: {list(DEATH_CAUSES)}")
        return value


class Config(_Section):
    """The whole configuration. Every field has the spec's default."""

    response_sets: ResponseSets = ResponseSets()
    os: OSConfig = OSConfig()
    efs: EFSConfig = EFSConfig()
    dor: DORConfig = DORConfig()
    rfs: RFSConfig = RFSConfig()
    cuminc: CumincConfig = CumincConfig()
    teae: TEAEConfig = TEAEConfig()
    dlt: DLTConfig = DLTConfig()
    stopping_rule: StoppingRule = StoppingRule()
    km: KMConfig = KMConfig()
    response: ResponseConfig = ResponseConfig()
    study: StudyConfig = StudyConfig()
    safety: SafetyConfig = SafetyConfig()
    sdtm: SDTMConfig = SDTMConfig()

    @model_validator(mode="after")
    def _unique_parameter_codes(self) -> Config:
        """Every derived parameter has its own PARAMCD (the rows of a dataset are keyed by it)."""
        codes = [("os.paramcd", self.os.paramcd), ("dor.paramcd", self.dor.paramcd)]
        codes += [(f"efs.parameters[{i}].paramcd", p.paramcd) for i, p in enumerate(self.efs.parameters)]
        seen: dict[str, str] = {}
        for key, code in codes:
            if code.upper() in seen:
                raise ValueError(f"{seen[code.upper()]} and {key} are both {code!r}: each parameter needs its own PARAMCD")
            seen[code.upper()] = key
        return self


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    value = error.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch" and key.endswith("paramcd"):
        message = "a PARAMCD is a letter, then up to 7 letters, digits or underscores"
    if not error["loc"]:  # a rule across sections: its message names the keys
        return message
    return f"{key}: {message}{shown}"


def config_from_mapping(data: dict, source: str = "configuration") -> Config:
    """Validate a mapping (e.g. parsed TOML) into a :class:`Config`; missing parts keep the defaults.

    Strict: TOML values are typed, so ``window_days = "365"`` or ``= true`` is an error, not
    quietly coerced (validated as JSON so that arrays still fill tuples).
    """
    import json

    try:
        text = json.dumps(data, default=str)
    except (TypeError, ValueError) as exc:
        raise ConfigError(source, [f"cannot be read as configuration ({exc})"]) from None
    try:
        return Config.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from None


def load_config(path: str | Path | None) -> Config:
    """Read a TOML configuration file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    limit = 1 << 20  # a configuration is a few KB: never read /dev/zero or a data file whole
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file ({exc.strerror or exc})"]) from None
    if len(raw) > limit:
        raise ConfigError(str(path), ["larger than 1 MiB: this is not a configuration file"])
    try:
        data = tomllib.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))  # (a BOM, as Notepad writes)
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"not UTF-8 text (byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return config_from_mapping(data, str(path))


def to_toml(config: Config) -> str:
    """The configuration as TOML that :func:`load_config` reads back to an equal model."""
    import tomli_w

    header = (
        "# cart19 configuration: the defaults of the trial's analysis plan. Every key and the rule it\n"
        "# changes is explained in docs/endpoints.md (and the other pages of docs/) in the cart19 source.\n"
        "# Save, edit and pass with --config FILE. Any part may be left out: it keeps its default.\n\n"
    )
    return header + tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))


def default_toml() -> str:
    return to_toml(Config())
