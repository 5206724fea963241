"""A synthetic trial in the input format (``shared/spec/events-format.md``).

:func:`simulate_events` draws a donor-derived CD19 CAR-T trial in R/R B-ALL: enrolment,
lymphodepletion, infusion (about 5% of the enrolled are never infused), bone-marrow assessments
at days 28 and 90 and months 6, 9 and 12, relapses (mostly haematologic, some extramedullary,
mostly between months 3 and 12), consolidative transplants in remission, salvage transplants and
next-line therapy for the refractory and the relapsed, deaths of each cause, withdrawals,
contacts up to two years, and the adverse events of CAR-T therapy (cytokine release syndrome,
ICANS, cytopenias, infections, hypogammaglobulinaemia, acute GVHD since the product is
donor-derived, ...) with MedDRA system organ classes, grades, durations and serious / related
flags. A few AE onsets carry a partial date (``YYYY-MM``); assessments in remission carry an
MRD result (mostly negative).

Every row is valid by construction (one infusion and at most one death per subject, nothing
dated after the death, ``end_date >= date``, grades 1-5, results from the vocabulary, dates
from 2023 to the data end 2025-12-31), and the same seed gives the same frame, byte for byte.
The draws are vectorised with numpy (one ``Generator(PCG64(seed))``, a fixed order of draws, no
per-subject Python loop), so a million subjects (about 30 million rows) take seconds.

The distributions are plausible, not fitted to any data; the frame is for testing and
demonstrations, never for inference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from cart19.model import ASSESSMENT_RESULTS, COLUMNS, DEATH_CAUSES, EVENT_KINDS, RELAPSE_SITES

__all__ = ["simulate_events", "simulate_blocks", "DATA_END", "ACCRUAL_START", "ACCRUAL_END"]

_EPOCH = dt.date(1970, 1, 1)


def _day(date: dt.date) -> int:
    return (date - _EPOCH).days


ACCRUAL_START = dt.date(2023, 1, 1)
ACCRUAL_END = dt.date(2025, 10, 31)
#: The snapshot date: no record is dated after it.
DATA_END = dt.date(2025, 12, 31)
_ACC0, _ACC1, _END = _day(ACCRUAL_START), _day(ACCRUAL_END), _day(DATA_END)
_NONE = -1  # "no value" in the integer code columns
_NEVER = 1 << 20  # a day offset that never happens

_KIND = {kind: code for code, kind in enumerate(EVENT_KINDS)}  # spec order = same-day sort order
_RESULTS: tuple[str, ...] = (*ASSESSMENT_RESULTS, *RELAPSE_SITES, *DEATH_CAUSES)
_RES = {name: code for code, name in enumerate(_RESULTS)}
_RESPONSE_CODES = np.array([_RES[r] for r in ("CR", "CRh", "CRi", "MLFS", "PR")])

# MedDRA system organ classes.
_BLOOD = "Blood and lymphatic system disorders"
_IMMUNE = "Immune system disorders"
_NERVOUS = "Nervous system disorders"
_INVEST = "Investigations"
_INFECT = "Infections and infestations"
_METAB = "Metabolism and nutrition disorders"
_GENERAL = "General disorders and administration site conditions"
_GI = "Gastrointestinal disorders"
_VASC = "Vascular disorders"
_RESP = "Respiratory, thoracic and mediastinal disorders"


@dataclass(frozen=True)
class _AE:
    """One AE term's model: incidence among the infused, onset window (study days, uniform),
    grade 1-4 probabilities, median duration in days (log-normal), probability of being ongoing,
    probability of being related to the product."""

    term: str
    soc: str
    incidence: float
    onset: tuple[int, int]
    grades: tuple[float, float, float, float]
    median_days: float
    ongoing: float = 0.0
    related: float = 0.5


_CATALOGUE: tuple[_AE, ...] = (
    _AE("Neutrophil count decreased", _INVEST, 0.85, (-3, 3), (0.0, 0.15, 0.37, 0.48), 13, related=0.9),
    _AE("Platelet count decreased", _INVEST, 0.55, (-2, 5), (0.1, 0.3, 0.37, 0.23), 12, related=0.9),
    _AE("White blood cell count decreased", _INVEST, 0.40, (-3, 3), (0.0, 0.2, 0.4, 0.4), 11, related=0.9),
    _AE("Lymphocyte count decreased", _INVEST, 0.30, (-4, 0), (0.0, 0.1, 0.3, 0.6), 25, related=0.7),
    _AE("Anaemia", _BLOOD, 0.50, (-3, 10), (0.1, 0.5, 0.4, 0.0), 18, related=0.8),
    _AE("Febrile neutropenia", _BLOOD, 0.30, (0, 14), (0.0, 0.0, 0.92, 0.08), 5, related=0.7),
    _AE("Febrile neutropenia", _BLOOD, 0.05, (-4, -1), (0.0, 0.0, 1.0, 0.0), 4, related=0.0),
    _AE("Disseminated intravascular coagulation", _BLOOD, 0.04, (3, 10), (0.0, 0.5, 0.45, 0.05), 3, related=0.9),
    _AE("Hypotension", _VASC, 0.30, (2, 8), (0.25, 0.5, 0.24, 0.01), 2, related=0.95),
    _AE("Hypoxia", _RESP, 0.12, (2, 8), (0.0, 0.45, 0.53, 0.02), 2, related=0.95),
    _AE("Pyrexia", _GENERAL, 0.15, (0, 30), (0.6, 0.35, 0.05, 0.0), 2, related=0.5),
    _AE("Fatigue", _GENERAL, 0.20, (0, 60), (0.6, 0.37, 0.03, 0.0), 12, related=0.5),
    _AE("Alanine aminotransferase increased", _INVEST, 0.20, (3, 30), (0.55, 0.3, 0.15, 0.0), 6, related=0.6),
    _AE("Aspartate aminotransferase increased", _INVEST, 0.15, (3, 30), (0.6, 0.28, 0.12, 0.0), 5, related=0.6),
    _AE("Blood fibrinogen decreased", _INVEST, 0.15, (3, 14), (0.3, 0.4, 0.3, 0.0), 4, related=0.9),
    _AE("Hypokalaemia", _METAB, 0.25, (-2, 20), (0.4, 0.3, 0.28, 0.02), 4, related=0.3),
    _AE("Hypophosphataemia", _METAB, 0.15, (0, 20), (0.3, 0.4, 0.3, 0.0), 5, related=0.3),
    _AE("Hypocalcaemia", _METAB, 0.10, (0, 14), (0.6, 0.3, 0.1, 0.0), 4, related=0.3),
    _AE("Tumour lysis syndrome", _METAB, 0.03, (0, 5), (0.0, 0.3, 0.68, 0.02), 3, related=0.8),
    _AE("Nausea", _GI, 0.25, (-5, 10), (0.6, 0.37, 0.03, 0.0), 3, related=0.4),
    _AE("Diarrhoea", _GI, 0.15, (0, 60), (0.6, 0.33, 0.07, 0.0), 4, related=0.4),
    _AE("Headache", _NERVOUS, 0.20, (0, 20), (0.7, 0.28, 0.02, 0.0), 2, related=0.6),
    _AE("Tremor", _NERVOUS, 0.08, (3, 14), (0.8, 0.2, 0.0, 0.0), 5, related=0.9),
    _AE("Hypogammaglobulinaemia", _IMMUNE, 0.40, (20, 90), (0.2, 0.8, 0.0, 0.0), 120, ongoing=0.5, related=0.95),
    _AE("Pneumonia", _INFECT, 0.18, (15, 365), (0.0, 0.3, 0.62, 0.08), 10, related=0.4),
    _AE("Sepsis", _INFECT, 0.06, (5, 200), (0.0, 0.0, 0.6, 0.4), 8, related=0.4),
    _AE("Cytomegalovirus infection reactivation", _INFECT, 0.15, (20, 120), (0.2, 0.6, 0.2, 0.0), 14, related=0.3),
    _AE("Upper respiratory tract infection", _INFECT, 0.25, (30, 600), (0.5, 0.5, 0.0, 0.0), 7, related=0.1),
    _AE("COVID-19", _INFECT, 0.10, (30, 700), (0.5, 0.35, 0.15, 0.0), 10, related=0.1),
    _AE("Bronchopulmonary aspergillosis", _INFECT, 0.03, (20, 200), (0.0, 0.2, 0.65, 0.15), 20, related=0.4),
    _AE("Acute graft versus host disease", _IMMUNE, 0.06, (10, 60), (0.35, 0.35, 0.2, 0.1), 21, related=0.8),
)  # fmt: skip

_CRS = "Cytokine release syndrome"
_ICANS = "Immune effector cell-associated neurotoxicity syndrome"
_AGVHD = "Acute graft versus host disease"
_CGVHD = "Chronic graft versus host disease"
_PROGRESSION = "Disease progression"
#: Terms of a fatal (grade 5) toxicity.
_FATAL = ("Sepsis", "Pneumonia", "Bronchopulmonary aspergillosis", _CRS, _ICANS, "Cerebral haemorrhage")
_SOC_OF = {
    **{ae.term: ae.soc for ae in _CATALOGUE},
    _CRS: _IMMUNE,
    _ICANS: _NERVOUS,
    _CGVHD: _IMMUNE,
    _PROGRESSION: _GENERAL,
    "Cerebral haemorrhage": _NERVOUS,
}
_TERMS: tuple[str, ...] = tuple(sorted(_SOC_OF))
_TERM = {term: code for code, term in enumerate(_TERMS)}
#: P(serious) by grade 1..5.
_SERIOUS_BY_GRADE = np.array([0.02, 0.15, 0.6, 0.9, 1.0])
_PARTIAL_RATE = 0.005
#: Subjects per independently drawn block.
_CHUNK = 1 << 16
#: Contact visits: (nominal study day, +/- jitter).
_CONTACTS = ((3, 1), (7, 1), (10, 1), (14, 2), (21, 2), (45, 5), (60, 5), (75, 5), (120, 7), (150, 7), (210, 7), (240, 7),
             (300, 10), (330, 10), (420, 14), (510, 14), (600, 14), (680, 14))  # fmt: skip
#: Cytopenias recorded again as they recover (one row per grade).
_RECOVERING = ("Neutrophil count decreased", "Platelet count decreased", "Anaemia", "Lymphocyte count decreased")
#: Infections that may come back later in follow-up.
_RECURRING = ("Upper respiratory tract infection", "COVID-19", "Pneumonia", "Cytomegalovirus infection reactivation")


class _Rows:
    """Collects event rows as integer code arrays; one ``add`` call per kind of draw."""

    _FIELDS = ("subj", "kind", "date", "end", "grade", "term", "serious", "related", "result", "partial")

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {f: [] for f in self._FIELDS}

    def add(self, kind: str, subj: np.ndarray, date: np.ndarray, **fields: np.ndarray | int) -> None:
        size = subj.shape[0]
        if size == 0:
            return
        self.parts["subj"].append(subj.astype(np.int64, copy=False))
        self.parts["kind"].append(np.full(size, _KIND[kind], dtype=np.int8))
        self.parts["date"].append(date.astype(np.int32, copy=False))
        for name in self._FIELDS[3:]:
            value = fields.get(name, _NONE)
            dtype = np.int32 if name == "end" else np.int16 if name == "term" else np.int8
            if isinstance(value, np.ndarray):
                self.parts[name].append(value.astype(dtype, copy=False))
            else:
                self.parts[name].append(np.full(size, value, dtype=dtype))

    def arrays(self) -> dict[str, np.ndarray]:
        """The concatenated columns (the parts are released)."""
        return {name: np.concatenate(self.parts.pop(name)) for name in self._FIELDS}


def _lognormal_days(rng: np.random.Generator, median: float | np.ndarray, sigma: float, size: int) -> np.ndarray:
    return np.rint(np.asarray(median) * np.exp(sigma * rng.standard_normal(size))).astype(np.int64)


def _choice(rng: np.random.Generator, p: tuple[float, ...] | list[float], size: int) -> np.ndarray:
    """Category index 0..len(p)-1 for each of ``size`` draws (inverse CDF of one uniform)."""
    cdf = np.cumsum(np.asarray(p, dtype=float))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(p) - 1)


def _codes(names: tuple[str, ...], index: np.ndarray) -> np.ndarray:
    return np.array([_RES[n] for n in names], dtype=np.int8)[index]


def simulate_events(n_subjects: int, seed: int) -> pl.DataFrame:
    """A synthetic trial of ``n_subjects`` subjects: the columns of the input format, in its
    order, as (nullable) strings, exactly as the CSV writer writes them; sorted by subject, date
    and event kind (the spec's order), then term and grade. Deterministic for ``seed``."""
    frames = list(simulate_blocks(n_subjects, seed))
    if not frames:
        return pl.DataFrame(schema={name: pl.String for name in COLUMNS})
    return pl.concat(frames, how="vertical", rechunk=False)


def simulate_blocks(n_subjects: int, seed: int) -> Iterator[pl.DataFrame]:
    """The frame of :func:`simulate_events` in consecutive blocks of subjects (65,536 each),
    for writing a large trial without holding all of it: concatenated, the blocks are
    exactly :func:`simulate_events` ``(n_subjects, seed)``."""
    if n_subjects < 0:
        raise ValueError(f"n_subjects must be >= 0, got {n_subjects}")
    width = max(3, len(str(n_subjects)))
    starts = range(0, n_subjects, _CHUNK)
    # Subjects are drawn in blocks, each from its own PCG64 stream spawned from the seed: the
    # blocks are independent, small enough to stay in cache, and already in subject order.
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    for start, stream in zip(starts, streams, strict=True):
        rng = np.random.Generator(np.random.PCG64(stream))
        yield _block(rng, start, min(_CHUNK, n_subjects - start), width)


def _block(rng: np.random.Generator, offset: int, n: int, width: int) -> pl.DataFrame:
    """Subjects ``offset + 1`` to ``offset + n``."""
    rows = _Rows()
    enrolled = rng.integers(_ACC0, _ACC1 + 1, n)
    lymphodepletion = enrolled + rng.integers(14, 36, n)
    infusion = lymphodepletion + 4 + _choice(rng, (0.2, 0.6, 0.2), n)
    infused = rng.random(n) >= 0.05
    subjects = np.arange(n, dtype=np.int64)
    rows.add("enrolled", subjects, enrolled)

    _not_infused(rng, rows, np.flatnonzero(~infused), enrolled, lymphodepletion)
    ii = np.flatnonzero(infused)
    _infused(rng, rows, ii, lymphodepletion[ii], infusion[ii])
    return _frame(rows.arrays(), offset, n, width)


def _not_infused(rng: np.random.Generator, rows: _Rows, s: np.ndarray, enrolled: np.ndarray, ld: np.ndarray) -> None:
    """Enrolled but never infused: progression, infection or withdrawal before the infusion."""
    k = s.shape[0]
    enr = enrolled[s]
    has_ld = rng.random(k) < 0.6
    ld = ld[s]
    stop = np.where(has_ld, ld, enr) + rng.integers(3, 40, k)  # the last record
    fate = _choice(rng, (0.3, 0.4, 0.3), k)  # death, withdrawal, alive (contact)
    cause = _codes(DEATH_CAUSES, _choice(rng, (0.8, 0.15, 0.05, 0.0), k))
    has_ae = rng.random(k) < 0.5
    ae_term = np.array([_TERM[t] for t in ("Sepsis", "Febrile neutropenia", _PROGRESSION, "Pneumonia")])[
        _choice(rng, (0.35, 0.3, 0.2, 0.15), k)
    ]
    ae_grade = 3 + (rng.random(k) < 0.4)
    start = np.where(has_ld, ld, enr)
    ae_on = start + 1 + (rng.random(k) * np.maximum(stop - start - 2, 0)).astype(np.int64)
    ae_end = np.minimum(ae_on + rng.integers(2, 15, k), stop)
    eot = np.maximum(stop - rng.integers(0, 6, k), enr + 1)
    serious = (rng.random(k) < 0.8).astype(np.int8)

    ok = has_ld & (ld <= _END)
    rows.add("lymphodepletion", s[ok], ld[ok])
    ok = has_ae & (ae_on <= _END) & (ae_on >= start)
    end = np.where(ae_end <= _END, ae_end, _NONE)
    rows.add("ae", s[ok], ae_on[ok], end=end[ok], grade=ae_grade[ok], term=ae_term[ok], serious=serious[ok], related=0)
    ok = eot <= _END
    rows.add("end_of_treatment", s[ok], eot[ok])
    ok = stop <= _END
    rows.add("death", s[ok & (fate == 0)], stop[ok & (fate == 0)], result=cause[ok & (fate == 0)])
    rows.add("withdrawal", s[ok & (fate == 1)], stop[ok & (fate == 1)])
    rows.add("contact", s[ok & (fate == 2)], stop[ok & (fate == 2)])


def _infused(rng: np.random.Generator, rows: _Rows, s: np.ndarray, ld: np.ndarray, t0: np.ndarray) -> None:
    """The infused subjects. Times are study days (infusion = day 0) until :func:`_emit`."""
    m = s.shape[0]
    horizon = _END - t0
    never = np.full(m, _NEVER, dtype=np.int64)

    # --- response at the first assessment (day 28), and a second look after an NE --------------
    first_names = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "PD", "NE")
    first = _codes(first_names, _choice(rng, (0.55, 0.06, 0.12, 0.04, 0.05, 0.12, 0.03, 0.03), m))
    a1 = 28 + rng.integers(-3, 4, m)
    after_ne = _codes(("CR", "CRi", "MLFS", "NR", "PD"), _choice(rng, (0.55, 0.1, 0.05, 0.25, 0.05), m))
    a_ne = 56 + rng.integers(-3, 4, m)
    is_ne = first == _RES["NE"]
    responded_first = np.isin(first, _RESPONSE_CODES)
    responder = responded_first | (is_ne & np.isin(after_ne, _RESPONSE_CODES))
    response = np.where(responded_first, first, after_ne)
    response_day = np.where(responded_first, a1, a_ne)
    remission = responder & np.isin(response, _codes(("CR", "CRh", "CRi"), np.arange(3)))
    partial = responder & ~remission
    refractory = ~responder

    # --- responders: consolidative HSCT, MRD-directed therapy, relapse --------------------------
    hsct_day = rng.integers(50, 111, m)
    consolidate = remission & (rng.random(m) < 0.4)
    p_relapse = np.where(partial, 0.7, np.where(consolidate, 0.25, 0.45))
    relapses = responder & (rng.random(m) < p_relapse)
    relapse_day = response_day + 14 + _lognormal_days(rng, np.where(partial, 60.0, 150.0), 0.6, m)
    relapse_day = np.where(relapses, relapse_day, never)
    site = _codes(RELAPSE_SITES, (rng.random(m) < 0.2).astype(np.int64))
    as_pd = partial & (rng.random(m) < 0.6)  # progression after PR/MLFS seen as a PD assessment
    consolidate &= hsct_day < relapse_day
    mrd_therapy = responder & ~consolidate & (rng.random(m) < 0.06)
    mrd_day = rng.integers(45, 91, m)
    mrd_therapy &= mrd_day < relapse_day
    after_relapse_therapy = rng.random(m) < 0.85
    relapse_therapy_day = relapse_day + rng.integers(5, 26, m)
    relapse_death = relapses & (rng.random(m) < 0.6)
    relapse_death_day = relapse_day + 10 + _lognormal_days(rng, 150.0, 0.7, m)

    # --- refractory: salvage HSCT, next-line therapy before or after a second assessment --------
    salvage = refractory & (rng.random(m) < 0.12)
    salvage_day = rng.integers(40, 81, m)
    early_therapy = refractory & ~salvage & (rng.random(m) < 0.55)
    early_therapy_day = rng.integers(32, 70, m)
    second_look = refractory & ~early_therapy & ~salvage
    a2_refractory = 90 + rng.integers(-5, 6, m)
    second_result = _codes(("NR", "PD"), (rng.random(m) < 0.2).astype(np.int64))
    late_therapy = second_look & (rng.random(m) < 0.8)
    late_therapy_day = a2_refractory + rng.integers(3, 21, m)
    later_result = _codes(("CR", "CRi", "NR", "PD"), _choice(rng, (0.45, 0.1, 0.3, 0.15), m))
    refractory_death = refractory & (rng.random(m) < 0.7)
    refractory_death_day = 35 + _lognormal_days(rng, 150.0, 0.7, m)

    hsct = np.where(consolidate, hsct_day, np.where(salvage, salvage_day, never))
    therapy = np.where(mrd_therapy, mrd_day, never)
    therapy = np.where(relapses & after_relapse_therapy & ~mrd_therapy, relapse_therapy_day, therapy)
    therapy = np.where(early_therapy, early_therapy_day, therapy)
    therapy = np.where(late_therapy, late_therapy_day, therapy)

    # --- deaths (competing causes), withdrawal, end of follow-up --------------------------------
    early_death = rng.random(m) < 0.025
    early_day = rng.integers(3, 28, m)
    early_cause = _codes(("disease", "toxicity"), (rng.random(m) < 0.5).astype(np.int64))
    toxicity = rng.random(m) < 0.04
    toxicity_day = np.clip(_lognormal_days(rng, 50.0, 0.8, m), 5, 400)
    other = rng.random(m) < 0.02
    other_day = rng.integers(30, 731, m)
    unknown = rng.random(m) < 0.015
    unknown_day = rng.integers(30, 731, m)
    disease_cause = _codes(("disease", "unknown"), (rng.random(m) < 0.1).astype(np.int64))
    candidates = np.stack(
        [
            np.where(early_death, early_day, never),
            np.where(relapse_death, relapse_death_day, never),
            np.where(refractory_death, refractory_death_day, never),
            np.where(toxicity, toxicity_day, never),
            np.where(other, other_day, never),
            np.where(unknown, unknown_day, never),
        ]
    )
    which = np.argmin(candidates, axis=0)
    death_day = candidates[which, np.arange(m)]
    cause = np.stack(
        [
            early_cause,
            disease_cause,
            disease_cause,
            np.full(m, _RES["toxicity"], np.int8),
            np.full(m, _RES["other"], np.int8),
            np.full(m, _RES["unknown"], np.int8),
        ]
    )[which, np.arange(m)]
    withdrawn = rng.random(m) < 0.03
    withdrawal_day = np.where(withdrawn, rng.integers(30, 601, m), never)
    follow_up_end = 730 + rng.integers(0, 31, m)  # the last protocol contact, about 2 years
    last = np.minimum.reduce([death_day, withdrawal_day, follow_up_end, horizon])
    dies = death_day == last
    withdraws = ~dies & (withdrawal_day == last)
    progression = np.minimum(relapse_day, never)

    def emit(kind: str, mask: np.ndarray, day: np.ndarray, **fields: np.ndarray | int) -> None:
        """Rows for the subjects in ``mask`` whose ``day`` is within their follow-up."""
        keep = mask & (day <= last)
        picked = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in fields.items()}
        if "end" in picked and isinstance(picked["end"], np.ndarray):
            end = picked["end"]
            picked["end"] = np.where(end == _NONE, _NONE, end + t0[keep])
        rows.add(kind, s[keep], t0[keep] + day[keep], **picked)

    everyone = np.ones(m, dtype=bool)
    emit("lymphodepletion", everyone, ld - t0)
    emit("infusion", everyone, np.zeros(m, dtype=np.int64))

    # --- assessments ------------------------------------------------------------------------------
    ne_code = _RES["NE"]
    emit("assessment", everyone, a1, result=first)
    emit("assessment", is_ne, a_ne, result=after_ne)
    # Responders: months 3, 6, 9, 12 while in response (after a relapse: none).
    for nominal, jitter in ((90, 7), (180, 10), (270, 10), (365, 14)):
        day = nominal + rng.integers(-jitter, jitter + 1, m)
        improve = rng.random(m) < 0.5
        not_evaluable = rng.random(m) < 0.03
        result = np.where(response == _RES["CR"], response, np.where(improve, _RES["CR"], response))
        result = np.where(not_evaluable, ne_code, result).astype(np.int8)
        emit("assessment", responder & (day > response_day) & (day < progression), day, result=result)
    emit("assessment", as_pd & relapses, relapse_day, result=_RES["PD"])
    emit("relapse", relapses & ~as_pd, relapse_day, result=site)
    # Refractory: a second look at day 90, or an assessment after salvage therapy (not the product's).
    emit("assessment", second_look, a2_refractory, result=second_result)
    after = np.where(salvage, salvage_day, early_therapy_day) + rng.integers(30, 50, m)
    emit("assessment", (salvage | early_therapy) & (rng.random(m) < 0.7), after, result=later_result)

    emit("hsct", hsct < _NEVER, hsct)
    emit("new_therapy", therapy < _NEVER, therapy)
    # End of the treatment period: the day-90 visit, earlier at a failure or a relapse.
    responder_eot = np.minimum(90 + rng.integers(0, 8, m), np.minimum(progression, therapy))
    salvage_start = np.where(salvage, salvage_day, early_therapy_day)
    refractory_eot = np.where(
        second_look, a2_refractory + rng.integers(0, 8, m), np.maximum(salvage_start - rng.integers(0, 4, m), a1 + 1)
    )
    eot = np.where(responder, responder_eot, refractory_eot)
    emit("end_of_treatment", rng.random(m) < 0.9, eot)

    # Weekly visits in the first month, then monthly, then quarterly in the second year.
    for nominal, jitter in _CONTACTS:
        emit("contact", everyone, nominal + rng.integers(-jitter, jitter + 1, m))
    emit("contact", everyone, follow_up_end)
    emit("death", dies, death_day, result=cause)
    emit("withdrawal", withdraws, withdrawal_day)

    # --- adverse events ---------------------------------------------------------------------------
    ld_day = ld - t0

    def ae(who: np.ndarray, term: str | np.ndarray, onset: np.ndarray, grade: np.ndarray,
           duration: np.ndarray, related: float, ongoing: float = 0.0) -> None:  # fmt: skip
        """AE rows for the subjects ``who`` (indices into the block; the arrays are per ``who``),
        kept from the lymphodepletion to the end of follow-up."""
        keep = (onset >= ld_day[who]) & (onset <= last[who])
        who, onset, grade, duration = who[keep], onset[keep], grade[keep], np.maximum(duration[keep], 1)
        k = who.size
        code = np.full(k, _TERM[term], np.int16) if isinstance(term, str) else term[keep]
        end = onset + duration - 1
        end = np.where((end > last[who]) | (rng.random(k) < ongoing), _NONE, end + t0[who])
        is_related = (rng.random(k) < related) & (onset >= 0)  # before the infusion: not the product's
        serious = rng.random(k) < _SERIOUS_BY_GRADE[grade - 1]
        partial = (rng.random(k) < _PARTIAL_RATE) & (onset >= 0) & (grade < 5)
        rows.add("ae", s[who], t0[who] + onset, end=end, grade=grade, term=code,
                 serious=serious, related=is_related, partial=partial)  # fmt: skip

    # Cytokine release syndrome: one row per grade (rising, peak, improving), as SDTM records it.
    crs = np.flatnonzero(rng.random(m) < 0.85)
    c = crs.size
    crs_onset = np.minimum(rng.geometric(0.4, c) - 1, 10)
    crs_grade = 1 + _choice(rng, (0.5, 0.38, 0.09, 0.03), c)
    rising = (crs_grade >= 2) & (rng.random(c) < 0.6)
    rise_days = rng.integers(1, 3, c)
    ae(crs[rising], _CRS, crs_onset[rising], crs_grade[rising] - 1, rise_days[rising] + 1, 1.0)
    peak_on = crs_onset + np.where(rising, rise_days, 0)
    peak_days = np.maximum(_lognormal_days(rng, np.where(crs_grade >= 3, 3.5, 3.0), 0.45, c), 1)
    ae(crs, _CRS, peak_on, crs_grade, peak_days, 1.0)
    improving = (crs_grade >= 2) & (rng.random(c) < 0.5)
    ae(crs[improving], _CRS, (peak_on + peak_days - 1)[improving], np.ones(int(improving.sum()), np.int64),
       rng.integers(1, 4, int(improving.sum())), 1.0)  # fmt: skip
    # ICANS, mostly after CRS.
    onset_by_crs = np.full(m, -1, np.int64)
    onset_by_crs[crs] = crs_onset
    icans = np.flatnonzero(rng.random(m) < np.where(onset_by_crs >= 0, 0.38, 0.08))
    i = icans.size
    base = onset_by_crs[icans]
    icans_onset = np.where(base >= 0, base + rng.integers(1, 6, i), rng.integers(3, 11, i))
    ae(icans, _ICANS, icans_onset, 1 + _choice(rng, (0.4, 0.3, 0.22, 0.08), i), _lognormal_days(rng, 3.0, 0.6, i), 1.0)
    # The catalogue.
    for item in _CATALOGUE:
        who = np.flatnonzero(rng.random(m) < item.incidence)
        k = who.size
        onset = rng.integers(item.onset[0], item.onset[1] + 1, k)
        grade = 1 + _choice(rng, item.grades, k)
        duration = np.maximum(_lognormal_days(rng, item.median_days, 0.7, k), 1)
        ae(who, item.term, onset, grade, duration, item.related, item.ongoing)
        if item.term in _RECOVERING:  # improving one grade at the end date, then resolving
            better = (grade >= 2) & (rng.random(k) < 0.6)
            b = int(better.sum())
            ae(who[better], item.term, (onset + duration - 1)[better], grade[better] - 1,
               _lognormal_days(rng, item.median_days / 2, 0.6, b), item.related)  # fmt: skip
        if item.term in _RECURRING:
            again = rng.random(k) < 0.3
            g = int(again.sum())
            later = (onset + duration)[again] + rng.integers(20, 200, g)
            ae(who[again], item.term, later, 1 + _choice(rng, item.grades, g),
               _lognormal_days(rng, item.median_days, 0.7, g), item.related)  # fmt: skip
    # GVHD after a transplant (acute, then chronic).
    for term, p, delay, grades, median, ongoing in (
        (_AGVHD, 0.3, (15, 61), (0.3, 0.4, 0.2, 0.1), 21.0, 0.0),
        (_CGVHD, 0.15, (100, 301), (0.3, 0.5, 0.2, 0.0), 120.0, 0.4),
    ):
        who = np.flatnonzero((hsct < _NEVER) & (rng.random(m) < p))
        k = who.size
        ae(who, term, hsct[who] + rng.integers(*delay, k), 1 + _choice(rng, grades, k),
           _lognormal_days(rng, median, 0.6, k), 0.1, ongoing)  # fmt: skip
    # Grade 5: the fatal toxicity, and disease progression at some deaths of disease.
    fatal = np.array([_TERM[t] for t in _FATAL], np.int16)[_choice(rng, (0.3, 0.25, 0.15, 0.12, 0.08, 0.1), m)]
    fatal = np.where((death_day > 21) & np.isin(fatal, [_TERM[_CRS], _TERM[_ICANS]]), _TERM["Sepsis"], fatal)
    fatal_onset = np.maximum(death_day - rng.integers(0, 8, m), 1)
    five = np.full(m, 5, np.int64)
    to_death = death_day - fatal_onset + 1
    for who, term, related in (
        (np.flatnonzero(dies & (cause == _RES["toxicity"])), fatal, 0.8),
        (np.flatnonzero(dies & (cause == _RES["disease"]) & (rng.random(m) < 0.3)), _PROGRESSION, 0.0),
    ):
        ae(who, term if isinstance(term, str) else term[who], fatal_onset[who], five[who], to_death[who], related)


def _frame(a: dict[str, np.ndarray], offset: int, n: int, width: int) -> pl.DataFrame:
    """Sort the code arrays and turn them into the string columns of the input format."""
    if a["subj"].size == 0:
        return pl.DataFrame(schema={name: pl.String for name in COLUMNS})
    # One int64 key: subject | date | kind | term | grade (the date is days since 1970, < 2**16).
    key = a["subj"] << 32
    key |= a["date"].astype(np.int64) << 16
    key |= a["kind"].astype(np.int64) << 12
    key |= (a["term"].astype(np.int64) + 1) << 3
    key |= np.maximum(a["grade"], 0).astype(np.int64)
    first = int(a["date"].min())
    last = max(int(a["date"].max()), int(a["end"].max()))
    codes = pl.DataFrame(
        {
            "key": key,
            "subj": a.pop("subj").astype(np.uint32),
            **{name: a.pop(name) for name in ("kind", "grade", "term", "serious", "related", "result", "partial")},
            "date": (a.pop("date") - first).astype(np.int16),
            "end": a.pop("end"),
        }
    )
    del key
    # A stable sort: rows with equal keys keep their (deterministic) generation order.
    codes = codes.sort("key", maintain_order=True).drop("key")

    days = pl.date_range(_EPOCH + dt.timedelta(days=first), _EPOCH + dt.timedelta(days=last), eager=True)
    day_text = days.cast(pl.String)
    month_text = day_text.str.slice(0, 7)
    ids = "SIM-" + pl.int_range(offset + 1, offset + n + 1, eager=True, dtype=pl.UInt32).cast(pl.String).str.zfill(width)

    def text(table: pl.Series | tuple[str, ...], index: pl.Expr) -> pl.Expr:
        """The text of each code (a null code gives a null)."""
        table = table if isinstance(table, pl.Series) else pl.Series(table, dtype=pl.String)
        return pl.lit(table).gather(index.cast(pl.UInt32))

    def code(name: str, offset: int = 0) -> pl.Expr:
        column = pl.col(name).cast(pl.Int32)
        return pl.when(column != _NONE).then(column - offset)

    # Full dates, then the same days as months: a partial date is the month of its day.
    dates = pl.concat([day_text, month_text])
    date = pl.col("date").cast(pl.UInt32) + pl.col("partial").eq(1).cast(pl.UInt32) * len(day_text)
    return codes.select(
        text(ids, pl.col("subj")).alias("subject_id"),
        text(EVENT_KINDS, pl.col("kind")).alias("event"),
        text(dates, date).alias("date"),
        text(day_text, code("end", first)).alias("end_date"),
        text(("1", "2", "3", "4", "5"), code("grade", 1)).alias("grade"),
        text(_TERMS, code("term")).alias("term"),
        text(tuple(_SOC_OF[t] for t in _TERMS), code("term")).alias("soc"),
        text(("N", "Y"), code("serious")).alias("serious"),
        text(("N", "Y"), code("related")).alias("related"),
        text(_RESULTS, code("result")).alias("result"),
        _mrd(pl.col("kind"), pl.col("result"), pl.col("subj"), pl.col("date")),
    )


#: The codes of the remission results (an MRD result is drawn for those assessments).
_REMISSION_CODES = [_RES[r] for r in ("CR", "CRh", "CRi")]


def _mrd(kind: pl.Expr, result: pl.Expr, subject: pl.Expr, day: pl.Expr) -> pl.Expr:
    """``mrd`` of an assessment in remission: about 4 in 5 ``negative``, the rest ``positive``,
    from the subject and the day (no random draw, so every other column is unchanged); empty
    (not done) on every other row."""
    remission = (kind == _KIND["assessment"]) & result.cast(pl.Int32).is_in(_REMISSION_CODES)
    negative = (subject.cast(pl.Int64) * 7 + day.cast(pl.Int64)) % 5 != 0
    return (
        pl.when(remission & negative).then(pl.lit("negative"))
        .when(remission).then(pl.lit("positive"))
        .otherwise(pl.lit(None, pl.String))
        .alias("mrd")
    )  # fmt: skip
