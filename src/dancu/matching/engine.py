"""The matcher: a Fellegi-Sunter model on Splink 5 over the prepared records of `matching.prepare`.

Steps, each reported in the run's summary so that a reader can trust (or distrust) the result:

1. Blocking. Only pairs that agree exactly on one of the keys of `BLOCKING_RULES` are compared, which
   keeps the work close to linear in the number of records: PIN, CMND, the name's words with the birth
   year, the given name with the full date of birth, the family name with the full date, the date with
   the commune (or the town of an unresolved address), the date with the house number, the parents'
   names with the birth year, the address detail with the given name. Each
   key is computed here as one column (`bk_<rule>`), so that a key shared by too many records (everyone
   "Nguyễn Văn A" born 1990) can be capped: a block larger than `block_cap` records is left out of its
   rule, with a warning naming it, instead of producing millions of pairs. The records of a capped block
   are still compared through the other rules.
2. Training without labels. The probability that two random records match is estimated from
   near-certain rules (same PIN; same name and date); the u probabilities (how often each level occurs
   among non-matching pairs) by comparing random pairs; the m probabilities (how often among matches)
   by expectation maximisation on blocked pairs, once blocking on the name and year (to learn every
   other field) and once on the date of birth (to learn the names). Inputs under `MIN_RECORDS_TO_TRAIN`
   records are too small to learn from; they are scored with the prior m and u values written on each
   level below, which were set from the model trained on the generated dirty population.
3. Prediction: every blocked pair gets a match weight (the sum of each field's log2 Bayes factor) and a
   match probability; pairs at or above `keep_above` are kept, with each field's level and weight.
4. Clustering: connected components of the pairs at or above the threshold (SciPy, over the pairs kept;
   a cluster is named by the least of its record ids, as Splink names it).

`DEFAULT_THRESHOLD` is the match probability at which a pair counts as the same person (see the docs in
`docs/matching.md` for how it was chosen and what it costs on the evaluation sets).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dancu.lib.gcpause import gc_thawed_after
from dancu.matching.prepare import PREPARED_COLUMNS, PreparedRecords

# A pair at or above this match probability is taken to be the same person. Chosen on the evaluation
# sets (bench/match.py, docs/matching.md): the unsupervised model is under-confident on FEBRL and
# RLdata, whose duplicates have two or three fields corrupted at once, and their F1 rises from 0.9 down
# to about 0.5; on the Vietnamese population it is flat from 0.5 up, and below it brothers and sisters
# come in (same parents and address, another name and date: 0.54 with another sample of random pairs
# for the u probabilities). 0.7 keeps a margin above them.
DEFAULT_THRESHOLD = 0.7
# Pairs below this probability are not worth showing anyone; above it they are scored and kept.
DEFAULT_KEEP_ABOVE = 0.05
# The largest block a key may form. A block of n records yields n(n-1)/2 pairs: 1,000 records give half
# a million, which DuckDB scores in seconds; a larger block is a key that says little (a very common
# name in a very common year) and is left to the other rules.
DEFAULT_BLOCK_CAP = 1_000
# Below this many records the unsupervised estimates are noise; the priors below are used instead.
MIN_RECORDS_TO_TRAIN = 1_000
# Random pairs compared to estimate the u probabilities: at most this many, and this many per record on
# smaller inputs. Forty per record see every level often enough on files of a few thousand (a level as
# rare among strangers as a shared date of birth, 1 in 30,000, is still seen a dozen times in 10,000
# records), at a third of the time of a hundred. A million pairs see even a shared date of birth thirty
# times; two million cost 5 s more of a 100,000-record run and changed no figure of the evaluation.
U_SAMPLE_PAIRS = 1_000_000
U_PAIRS_PER_RECORD = 40
# The comparisons whose u probabilities each of two threads estimates on DuckDB (see `_estimate_u`): the
# address, the slowest (a third of the time on the Vietnamese set, its Jaro-Winkler and its words), with
# the quick ones, against the names. Every comparison is in one of them (tested).
U_THREADS: tuple[tuple[str, ...], ...] = (
    ("full_name", "parents", "pin", "birth_date"),
    ("address", "cmnd", "birth_place", "sex"),
)


@dataclass(frozen=True, slots=True)
class EMSession:
    """A session of expectation maximisation: the pairs it learns from (those equal in each of `columns`),
    and the comparisons it leaves untrained besides those that read the columns, which Splink's own
    training leaves out."""

    columns: tuple[str, ...]
    # Comparisons that agree among the session's pairs whether or not they are one person: trained there,
    # they would make strangers look like matches (see `EM_LOCAL_SESSIONS`).
    leaves: tuple[str, ...] = ()


# The sessions of records that hold no commune or no parents (FEBRL, RLdata, small files): each learns the
# fields its rule does not use (docs/matching.md).
EM_SESSIONS: tuple[EMSession, ...] = (
    EMSession(("name_folded", "dob_y")),
    EMSession(("dob",)),
    EMSession(("name_folded",)),
)
# The sessions of a population: pairs of one commune, or of one name with one pair of parents. Expectation
# maximisation needs pairs of which a fair share are one person (Splink's guide: 1 to 99 %), and the share
# of duplicates among the pairs of one date of birth or one name falls as one over the population's size:
# 0.34 and 0.27 % at 100,000 Vietnamese records without PINs, 0.033 and 0.026 % at a million, where the
# sessions learnt namesakes and people born the same day instead and F1 fell to 0.924. A commune holds
# about as many people at any size, and so do a name's holders with one father and mother: at a million
# records, 52 % of the pairs of one date and commune are one person, 43 % of one name and commune, 96 % of
# one name and parents, 61 % of one name and date (RESULTS.md, session 37). Among the pairs of one commune
# most were born in its province, and among those of one name most are of one sex (the "Thị" of women):
# those comparisons are left to the other sessions. The address reads the parents' names (its household
# level), so the session of the name and date learns it.
EM_LOCAL_SESSIONS: tuple[EMSession, ...] = (
    EMSession(("name_folded", "father_folded", "mother_folded"), leaves=("sex",)),
    EMSession(("dob", "commune"), leaves=("birth_place",)),
    EMSession(("name_folded", "commune"), leaves=("sex", "birth_place")),
    EMSession(("name_folded", "dob"), leaves=("sex",)),
)
# The least pairs each of `EM_LOCAL_SESSIONS` gives for them to be used: fewer, and the records are too
# few, or hold too few communes and parents, for their sessions to see each common level; the sessions of
# a small file are dense enough (a date of birth's pairs hold duplicates in proportion to one over the
# size). At 100,000 Vietnamese records the fewest is 603 (the name and date).
EM_LOCAL_MIN_PAIRS = 500
EM_THREADS = 2
# Pairs used by each expectation-maximisation session at most; a session whose blocking rule gives more
# has its pairs sampled down to about this many. The Vietnamese set's name-only session is 765,000 pairs
# of 100,000 records, and sampled the session took 0.8-0.9 s instead of 1.1-1.5; F1 without PINs moved
# from 0.9985 to 0.9983, and no other figure of the evaluation moved (RESULTS.md, session 34).
EM_MAX_PAIRS = 250_000
SEED = 20250701
# The name the records are registered under in the run's database.
RECORDS_TABLE = "records"
# The share of true matches the near-certain rules of `_train` are taken to find (see there).
PRIOR_RULES_RECALL = 0.5
# The comparisons that describe a person (see `_priors_where_training_went_astray`); the weight, in bits,
# at or under which a level is no evidence that two records are one person ("same province", "different",
# "one parent the same, the other different"); and the share of the trained matches above which such levels
# say training learnt another class. One bit left out "one parent the same, the other different" (2.8 bits
# by the priors): on a registry of a million people with nobody twice the sessions of one commune and one
# name gave it 98.7 % of their "matches", namesakes of one clan, and proposed 264 pairs of two people
# against 105 with three bits. On the Vietnamese sets the other levels between one and three bits are
# "Jaro-Winkler ≥ 0.80" of the name and "same day and month, other year" of the date; the duplicates reach
# none of the three more than once in five hundred, and no F1 of the evaluation moved (RESULTS.md,
# session 37).
DESCRIBING_COMPARISONS = ("full_name", "birth_date", "parents", "address")
NO_EVIDENCE_BITS = 3.0
ASTRAY_SHARE = 0.5
# The least share of the true matches any comparison level is given after training (see
# `_floor_m_probabilities`).
M_FLOOR = 0.00001

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BlockingRule:
    name: str
    columns: tuple[str, ...]
    description: str
    # A key that says little on its own (the name without a date) gets a smaller cap than the run's:
    # a name shared by a handful of records is worth comparing in full, "Nguyễn Thị Lan" is not.
    cap: int | None = None

    @property
    def key_column(self) -> str:
        return f"bk_{self.name}"


# The largest block of a rule whose key is a name alone. Measured on the evaluation sets, blocks of 11 to 30
# records of one name found no true pair that another rule did not (at 100,000 and 1,000,000 Vietnamese
# records, FEBRL and RLdata), and were most of the name rule's pairs: 139,000 of its 220,000 at 100,000
# records, a third of all candidate pairs, none of which scored over 0.01 (RESULTS.md, session 35).
NAME_ONLY_CAP = 10
# The largest block of a rule that pairs one part of the name with part of the date of birth (the given name
# with the year and month, or with the day and month; the family name with the date): each is there for
# the duplicate whose other name words or other date part were mistyped. Their blocks grow with the
# population: at a million Vietnamese records they gave 17.8 of the 20.6 million candidate pairs, and
# their blocks of more than 10 records held no true pair that another rule did not find, at 100,000 and
# 1,000,000 records, with and without PINs, nor on FEBRL and RLdata, where no such block is that large
# (RESULTS.md, session 36). At a million records the cap leaves them 2.4 million pairs.
NAME_PART_DATE_CAP = 10
# The largest block of house number and town: "45" in one postcode is a house or two; a village number
# ("thôn 2") is shared by many and says nothing.
HOUSE_CAP = 6

BLOCKING_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("pin", ("pin",), "same PIN (số định danh cá nhân)"),
    BlockingRule("pin_digits", ("pin_sorted",), "same PIN, two digits of its second half swapped"),
    BlockingRule("cmnd", ("cmnd",), "same old ID card number (CMND)"),
    BlockingRule("cmnd_digits", ("cmnd_sorted",), "same CMND, two digits of its second half swapped"),
    BlockingRule("name", ("name_sorted",), "same name words (rare names only)", cap=NAME_ONLY_CAP),
    BlockingRule("name_year", ("name_sorted", "dob_y"), "same name words, same birth year"),
    BlockingRule(
        "name_day", ("name_sorted", "dob_m", "dob_d"), "same name words, same day and month of birth"
    ),
    BlockingRule("given_dob", ("given_folded", "dob"), "same given name, same date of birth"),
    BlockingRule(
        "given_year_month",
        ("given_folded", "dob_y", "dob_m"),
        "same given name, same year and month of birth",
        cap=NAME_PART_DATE_CAP,
    ),
    BlockingRule(
        "given_day",
        ("given_folded", "dob_m", "dob_d"),
        "same given name, same day and month of birth",
        cap=NAME_PART_DATE_CAP,
    ),
    BlockingRule("initials_dob", ("initials", "dob"), "same initials of the name, same date of birth"),
    BlockingRule(
        "family_dob",
        ("family_folded", "dob"),
        "same family name, same date of birth",
        cap=NAME_PART_DATE_CAP,
    ),
    BlockingRule(
        "dob_locality",
        ("dob", "locality"),
        "same date of birth, same 2025 commune (or same last part of an unresolved address)",
    ),
    BlockingRule("dob_house", ("dob", "house_number"), "same date of birth, same house number"),
    # Only for addresses that resolve to no commune. In a Vietnamese commune the house number groups a
    # household, and brothers and sisters without a PIN, who share parents, address and birth place,
    # score like one person: at a million records this key with the commune brought 74 such pairs over
    # the threshold (docs/matching.md), while the commune's own keys (place, date) find the duplicates.
    BlockingRule(
        "house_town",
        ("house_number", "town"),
        "same house number, same town of an address that resolves to no commune (small blocks only)",
        cap=HOUSE_CAP,
    ),
    BlockingRule(
        "parents_year", ("father_folded", "mother_folded", "dob_y"), "same parents' names, same birth year"
    ),
    BlockingRule("place_given", ("place", "given_folded"), "same address, same given name"),
    BlockingRule("place_year", ("place", "dob_y"), "same address, same birth year"),
)


@dataclass(frozen=True, slots=True)
class CappedBlock:
    rule: str
    key: str
    records: int


@dataclass
class MatchResult:
    """Clusters of every record, the kept pairs with each field's level and weight, and the summary."""

    clusters: dict[str, str]
    pairs: pd.DataFrame
    summary: dict[str, Any]
    # comparison name -> gamma value -> level label, to explain a pair's row of gammas.
    level_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    # Each record's blocking keys after capping (`unique_id`, `bk_<rule>`...): which pairs were compared,
    # for measuring pairs completeness against known duplicates.
    block_keys: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def fields(self) -> list[str]:
        return list(self.level_labels)


# Comparisons -----------------------------------------------------------------------------------------------


def _comparisons(*, term_frequencies: bool) -> list[Any]:
    """The comparisons and their levels, most specific first; each level has prior m and u values.

    Only Splink's portable level classes and plain SQL (=, AND, OR, IS NULL) are used, so the same
    settings run on DuckDB and on Spark.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def level(creator: Any, label: str, m: float, u: float, **options: Any) -> Any:
        return creator.configure(label_for_charts=label, m_probability=m, u_probability=u, **options)

    def custom(sql: str, label: str, m: float, u: float) -> Any:
        return level(cll.CustomLevel(sql, base_dialect_str="duckdb"), label, m, u)

    # A common name ("Nguyễn Văn Hùng") agreeing says less than a rare one: the weight of the name levels
    # is adjusted by how often the folded name occurs. On a small file the frequencies are noise (a name
    # seen twice, in the two records of one person, looks common), so they are used only with training.
    name_tf = {"tf_adjustment_column": "name_folded", "tf_adjustment_weight": 1.0} if term_frequencies else {}

    # The given name is a short syllable: one letter wrong at its end ("hùnh" for "hùng") drags its
    # Jaro-Winkler under any useful threshold, so one edit also counts as alike, but only from four
    # letters on: without marks, the three-letter names of siblings are often one letter apart
    # ("thư" and "tú" are "thu" and "tu", "lan" and "lâm" are "lan" and "lam"). Either way the initial
    # consonant must agree (`given_onset`, the first letter of a name that is no Vietnamese syllable):
    # "Uyên" and "Huyền", "Trí" and "Triết" are one letter or a Jaro-Winkler of 0.93 and 0.91 apart, and
    # "Tiến" and "Thiện" 0.95, and are the names of sisters and brothers, or of strangers born the same
    # day, not slips.
    def word_alike(word: str, onset: str) -> Any:
        return cll.And(
            cll.CustomLevel(f"{onset}_l = {onset}_r", base_dialect_str="duckdb"),
            cll.Or(
                cll.JaroWinklerLevel(word, 0.92),
                cll.And(
                    cll.LevenshteinLevel(word, 1),
                    cll.CustomLevel(
                        f"length({word}_l) >= 4 AND length({word}_r) >= 4", base_dialect_str="duckdb"
                    ),
                ),
            ),
        )

    # Each AND below names the given name first: its first test, the initial consonant, is an equality,
    # and DuckDB works out the later terms of an AND only for the pairs the earlier ones left. Most pairs
    # of strangers stop there, before the Jaro-Winkler of the whole name, which estimating u works out
    # for a million random pairs (RESULTS.md, session 34).
    given_alike = word_alike("given_folded", "given_onset")
    family_moved = cll.CustomLevel("family_folded_l <> family_folded_r", base_dialect_str="duckdb")
    full_name = cl.CustomComparison(
        output_column_name="full_name",
        comparison_description="họ tên / full name",
        comparison_levels=[
            cll.NullLevel("name_folded"),
            level(
                cll.ExactMatchLevel("name"),
                "exact (NFC, canonical spelling)",
                0.80,
                0.0005,
                fix_m_probability=True,
                **name_tf,
            ),
            level(
                cll.ExactMatchLevel("name_folded"),
                "same letters without tone marks and đ",
                0.12,
                0.0003,
                **name_tf,
            ),
            # A name written in another order moves the family name ("Hùng Nguyễn Văn", as forms made
            # abroad ask); the same family name with the other words swapped is how parents name brothers
            # and sisters ("Nguyễn Quang Minh", "Nguyễn Minh Quang"), not a slip.
            level(
                cll.And(cll.ExactMatchLevel("name_sorted"), family_moved),
                "same words in another order",
                0.02,
                0.00001,
            ),
            # Jaro-Winkler rewards a shared beginning, and Vietnamese siblings share the beginning of
            # their names (family and middle name: "Nguyễn Gia Giang", "Nguyễn Gia Tuấn"). A misspelt
            # name counts as alike only when its last word, the given name that tells siblings apart,
            # is alike too.
            level(
                cll.And(given_alike, cll.JaroWinklerLevel("name_folded", 0.92)),
                "Jaro-Winkler ≥ 0.92 without marks, given name alike",
                0.04,
                0.001,
            ),
            # A typing error in each of the family and the given name drags the whole name below 0.92,
            # though each word alone is still plainly the same.
            # The middle name must not say otherwise: a slip leaves it alone, a register may leave it out,
            # but brothers and sisters are often named apart by it alone ("Ngô Tuấn Hùng", "Ngô Hữu Hưng").
            level(
                cll.And(
                    given_alike,
                    cll.JaroWinklerLevel("family_folded", 0.85),
                    cll.Or(cll.NullLevel("middle_key"), cll.JaroWinklerLevel("middle_key", 0.88)),
                ),
                "family and given name each alike",
                0.01,
                0.0005,
            ),
            # One word of the name replaced or missing. Sharing only the family name is no evidence at
            # all in Vietnam (Nguyễn is one person in three; siblings share it along with their parents
            # and address), so its prior weighs as much against as a different name; the data decides.
            custom("given_folded_l = given_folded_r", "same given name, rest different", 0.002, 0.01),
            custom("family_folded_l = family_folded_r", "same family name, rest different", 0.0005, 0.15),
            # Given name written first and a typing error besides ("campblel joshua", "joshua campbell"):
            # the words in alphabetical order are still alike. After the levels above, so that siblings
            # ("Nguyễn Thị Lan", "Nguyễn Thị Lâm") have already landed in "same family name".
            level(
                cll.And(cll.JaroWinklerLevel("name_sorted", 0.92), family_moved),
                "words in another order, Jaro-Winkler ≥ 0.92 without marks",
                0.01,
                0.0002,
            ),
            level(cll.JaroWinklerLevel("name_folded", 0.80), "Jaro-Winkler ≥ 0.80 without marks", 0.01, 0.05),
            level(cll.ElseLevel(), "different", 0.01, 0.78),
        ],
    )

    # Father and mother are one comparison, not two: among people who are not the same person, those
    # who share one parent mostly share the other (siblings), so two separate weights would count the
    # same evidence twice and call brothers and sisters one person.
    def parents_null(side: str) -> str:
        return f"(father_folded_{side} IS NULL AND mother_folded_{side} IS NULL)"

    def one_known_same(column: str, other: str) -> str:
        return (
            f"({column}_folded_l = {column}_folded_r "
            f"AND ({other}_folded_l IS NULL OR {other}_folded_r IS NULL))"
        )

    # The parents both records know are the same: both of them, or one with the other unknown on a side.
    # A record that leaves out the father (a household book, a mother's declaration) still names the
    # family, and at a million people half-brothers so recorded were proposed as one person.
    same_family = (
        "((father_folded_l = father_folded_r AND mother_folded_l = mother_folded_r) "
        f"OR {one_known_same('father', 'mother')} OR {one_known_same('mother', 'father')})"
    )

    parents = cl.CustomComparison(
        output_column_name="parents",
        comparison_description="họ tên cha mẹ / parents' names",
        comparison_levels=[
            cll.CustomLevel(
                f"{parents_null('l')} OR {parents_null('r')}", base_dialect_str="duckdb"
            ).configure(is_null_level=True),
            # The same known parents, and born in other years on dates no slip of one digit turns into
            # each other: brothers and sisters. Among them the parents agree by definition, so here they
            # are no evidence either way (m = u, both fixed); counted in full (+12 to +17 bits) they
            # outweighed the dates, and a registry run proposed siblings the generator, like some
            # families, named alike ("H'Biêr Hwing" of 2014 and of 2016). Twins share the date and are
            # told apart by the name.
            level(
                cll.CustomLevel(
                    f"{same_family} AND dob_y_l <> dob_y_r AND levenshtein(dob_l, dob_r) >= 2",
                    base_dialect_str="duckdb",
                ),
                "the same known parents, born in other years: brothers and sisters",
                0.01,
                0.01,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            custom(
                "father_l = father_r AND mother_l = mother_r",
                "both the same (NFC, canonical spelling)",
                0.8,
                0.00002,
            ),
            custom(
                "father_folded_l = father_folded_r AND mother_folded_l = mother_folded_r",
                "both the same without tone marks",
                0.08,
                0.00001,
            ),
            custom(
                f"{one_known_same('father', 'mother')} OR {one_known_same('mother', 'father')}",
                "one the same, the other unknown on one side",
                0.06,
                0.0005,
            ),
            # Vietnamese parents' names share the family name and the middle name (Văn, Thị) with half the
            # village, which Jaro-Winkler rewards: "Trần Văn Tường" and "Trần Văn Lộc" are 0.91 alike. Each
            # parent's given name must be alike too, as the person's own must.
            level(
                cll.And(
                    word_alike("father_given", "father_onset"),
                    word_alike("mother_given", "mother_onset"),
                    cll.JaroWinklerLevel("father_folded", 0.9),
                    cll.JaroWinklerLevel("mother_folded", 0.9),
                ),
                "both alike (Jaro-Winkler ≥ 0.90 without marks)",
                0.03,
                0.0001,
            ),
            custom(
                "father_folded_l = father_folded_r OR mother_folded_l = mother_folded_r",
                "one the same, the other different",
                0.01,
                0.002,
            ),
            level(cll.ElseLevel(), "different", 0.02, 0.99),
        ],
    )

    birth_date = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_description="ngày sinh / date of birth",
        comparison_levels=[
            cll.NullLevel("dob_y"),
            level(
                cll.CustomLevel("dob_l = dob_r", base_dialect_str="duckdb"),
                "exact",
                0.85,
                0.00004,
                fix_m_probability=True,
            ),
            custom(
                "dob_y_l = dob_y_r AND (dob_m_l IS NULL OR dob_m_r IS NULL "
                "OR (dob_m_l = dob_m_r AND (dob_d_l IS NULL OR dob_d_r IS NULL)))",
                "agrees as far as the less precise date is known",
                0.08,
                0.002,
            ),
            custom(
                "dob_y_l = dob_y_r AND dob_m_l = dob_d_r AND dob_d_l = dob_m_r",
                "day and month swapped",
                0.01,
                0.0001,
            ),
            # One digit of the full date mistyped (1973 for 1933, 27/06 for 27/04): the most common error
            # in a re-typed register, and rare between strangers. A full date is always written in ten
            # characters (`prepare`), so one edit is one digit changed and the two other parts agree:
            # testing that first spares the edit distance of nearly every pair (a fifth of a second a
            # million pairs, which estimating u on a large file compares).
            custom(
                "(dob_y_l = dob_y_r AND (dob_m_l = dob_m_r OR dob_d_l = dob_d_r) "
                "OR dob_m_l = dob_m_r AND dob_d_l = dob_d_r) AND levenshtein(dob_l, dob_r) <= 1",
                "one digit different",
                0.03,
                0.003,
            ),
            custom("dob_y_l = dob_y_r AND dob_m_l = dob_m_r", "same year and month", 0.02, 0.001),
            custom("dob_y_l = dob_y_r", "same year only", 0.02, 0.012),
            custom("dob_m_l = dob_m_r AND dob_d_l = dob_d_r", "same day and month, other year", 0.01, 0.003),
            level(cll.ElseLevel(), "different", 0.005, 0.98),
        ],
    )

    def identifier(column: str, description: str) -> Any:
        head, tail = f"{column}_head", f"{column}_tail"
        return cl.CustomComparison(
            output_column_name=column,
            comparison_description=description,
            comparison_levels=[
                cll.NullLevel(column),
                level(cll.ExactMatchLevel(column), "exact", 0.95, 0.000001),
                # Levenshtein's distance is worked out only for numbers that share their first or last
                # digits (`_number_ends`), which every pair one edit apart does: it was a third of the
                # time of estimating u on the Vietnamese set, on a million random pairs.
                custom(
                    f"({head}_l IS NULL OR {head}_r IS NULL OR {head}_l = {head}_r OR {tail}_l = {tail}_r) "
                    f"AND levenshtein({column}_l, {column}_r) <= 1",
                    "one digit different",
                    0.03,
                    0.0001,
                ),
                # The digits in order equal is not enough: among the six random digits of two strangers'
                # PINs of one province, sex and year that happens once in a few thousand pairs, and a
                # registry run proposed such strangers born the same day. A slip moves one digit or swaps
                # two, which leaves the numbers at most two edits apart.
                level(
                    cll.And(
                        cll.CustomLevel(f"{column}_sorted_l = {column}_sorted_r", base_dialect_str="duckdb"),
                        cll.LevenshteinLevel(column, 2),
                    ),
                    "two digits swapped",
                    0.01,
                    0.00001,
                    fix_m_probability=True,
                ),
                # Two records of one person with wholly different numbers are rare: a number is copied
                # from a document, and its slips are the levels above.
                level(cll.ElseLevel(), "different", 0.002, 0.9999),
            ],
        )

    def agrees(column: str, description: str, same: str, m: float, u: float) -> Any:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_description=description,
            comparison_levels=[
                cll.NullLevel(column),
                level(cll.ExactMatchLevel(column), same, m, u),
                level(cll.ElseLevel(), "different", 1 - m, 1 - u),
            ],
        )

    sex = agrees("sex", "giới tính / sex", "exact", 0.98, 0.5)
    birth_place = agrees("birth_place", "nơi sinh / place of birth", "same province", 0.9, 0.03)
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="địa chỉ (đơn vị 2025) / address (2025 units)",
        comparison_levels=[
            cll.NullLevel("address_folded"),
            # One household: the same place and the same known parents. The parents' comparison has
            # already counted that household; brothers and sisters live in it too, so among people who
            # are not one person the place then agrees most of the time, not once in thousands. Its u is
            # fixed at that share (random pairs cannot show it), and the place adds almost nothing to the
            # parents: a national registry's run proposed brothers and sisters born years apart by the
            # hundred when both counted in full.
            level(
                cll.CustomLevel(
                    "address_detail_l = address_detail_r "
                    f"AND coalesce(commune_l, '') = coalesce(commune_r, '') AND {same_family}",
                    base_dialect_str="duckdb",
                ),
                "same place, and the same known parents: one household",
                0.9,
                0.8,
                fix_u_probability=True,
            ),
            custom(
                "address_detail_l = address_detail_r AND coalesce(commune_l, '') = coalesce(commune_r, '')",
                "same place: same 2025 commune and same detail",
                0.7,
                0.0005,
            ),
            custom("commune_l = commune_r", "same 2025 commune", 0.15, 0.002),
            level(
                cll.JaroWinklerLevel("address_folded", 0.90),
                "Jaro-Winkler ≥ 0.90 on the text without marks",
                0.05,
                0.001,
            ),
            # Word overlap is for addresses that did not resolve to a commune (abroad, or too damaged):
            # between two Vietnamese communes, "số", "phố", "thôn" and "hàng" say nothing. The words of a
            # record are distinct (`prepare.address_words`), so the words of one found in the other are
            # the words in common: DuckDB counts them so six times faster than with `list_intersect`
            # (Splink's `ArrayIntersectLevel`), which builds a set for every pair. Random pairs of FEBRL
            # reach this level whole, and it was 0.5 of the 1.1 s that estimating u took there.
            custom(
                "(commune_l IS NULL OR commune_r IS NULL) AND array_length(list_filter(address_words_l, "
                "lambda word: list_contains(address_words_r, word))) >= 3",
                "three or more words of the detail in common",
                0.05,
                0.005,
            ),
            custom("province_l = province_r", "same 2025 province", 0.05, 0.05),
            level(cll.ElseLevel(), "different", 0.05, 0.95),
        ],
    )
    return [
        full_name,
        birth_date,
        sex,
        identifier("pin", "số định danh cá nhân / PIN"),
        identifier("cmnd", "CMND / old ID card number"),
        parents,
        birth_place,
        address,
    ]


def _settings(blocking: Sequence[BlockingRule], *, trained: bool, only: Collection[str] | None = None) -> Any:
    """The model's settings; with `only`, those comparisons alone (see `_estimate_u`)."""
    from splink import SettingsCreator, block_on

    comparisons = _comparisons(term_frequencies=trained)
    if only is not None:
        comparisons = [c for c in comparisons if c._output_column_name in only]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(rule.key_column) for rule in blocking],
        # The prior of the untrained model: about one pair in a hundred thousand is the same person in
        # files of a few thousand records with a few percent duplicates.
        probability_two_random_records_match=0.00002,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        max_iterations=20,
    )


# Identity numbers at least this long have their first and last `NUMBER_END` digits compared before their
# edit distance: two numbers of at least nine characters one edit apart (a digit changed, added or
# dropped) keep, on one side of the edit, at least half of the shorter one, so at least four digits at
# its start or at its end. Shorter numbers have no ends, and are always measured.
NUMBER_ENDS_FROM = 9
NUMBER_END = 4


def _number_ends(numbers: pd.Series) -> tuple[pd.Series, pd.Series]:
    # A loop, not the `.str` accessor: a column with no number at all is not a column of strings for
    # pandas, and the accessor refuses it.
    long = [
        number if isinstance(number, str) and len(number) >= NUMBER_ENDS_FROM else None for number in numbers
    ]
    return (
        pd.Series([number and number[:NUMBER_END] for number in long], index=numbers.index, dtype=object),
        pd.Series([number and number[-NUMBER_END:] for number in long], index=numbers.index, dtype=object),
    )


def _frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The prepared columns as a table; the parts of a date as nullable integers, because a plain
    integer column would turn an unknown month into NaN, which SQL does not treat as NULL."""
    # Each column as an array of the objects it holds: pandas given the lists themselves looks at every
    # value to infer a type, which took 0.35 of the 0.45 s of building the table of 100,000 records (and
    # the types are then these: text, lists of words, and the date's parts made Int64 below).
    frame = pd.DataFrame(
        {
            name: np.fromiter(columns[name], dtype=object, count=len(columns[name]))
            for name in PREPARED_COLUMNS
        }
    )
    for name in ("dob_y", "dob_m", "dob_d"):
        frame[name] = frame[name].astype("Int64")
    for name in ("pin", "cmnd"):
        frame[f"{name}_head"], frame[f"{name}_tail"] = _number_ends(frame[name])
    return frame


# Blocking keys ---------------------------------------------------------------------------------------------


class _Numbers:
    """The records' groups of equal values, for the blocking keys and the sessions' pairs: each column is
    numbered once (`pd.factorize`; a blank value, None, NaN or NA, is -1), and a group of several columns
    is the numbering of their numbers taken together."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._numbered: dict[str, np.ndarray] = {}

    def column(self, column: str) -> np.ndarray:
        if column not in self._numbered:
            self._numbered[column] = pd.factorize(self._frame[column], use_na_sentinel=True)[0].astype(
                np.int64
            )
        return self._numbered[column]

    def groups(self, columns: Sequence[str]) -> np.ndarray:
        """Each record's group of equal values in all of `columns`; -1 for a record blank in any of them."""
        first, *others = columns
        key = self.column(first)
        blank = key < 0
        for column in others:
            more = self.column(column)
            blank = blank | (more < 0)
            # Numbered again after each column, so that the product stays below the number of records
            # squared.
            key = pd.factorize(key * (int(more.max(initial=-1)) + 2) + (more + 1))[0]
        return np.where(blank, -1, key)


def _block_keys(
    frame: pd.DataFrame, rules: Sequence[BlockingRule], cap: int
) -> tuple[list[dict[str, Any]], list[CappedBlock]]:
    """Add one key column per rule (null where a column is blank or the block is capped); return each
    rule's pair count after capping and the capped blocks.

    A key is the number of its group of equal values, not the values joined as text: sixteen text keys
    per record were a gigabyte of strings at a million records, the numbers are 128 MB, and DuckDB joins
    on them faster. Each column is numbered once (`_Numbers`), and a rule's key is the numbering of its
    columns' numbers taken together: eighteen rules name eleven columns, and grouping the rows by the
    columns of each rule again took half a second at 100,000 records.
    """
    numbers = _Numbers(frame)
    counts: list[dict[str, Any]] = []
    capped: list[CappedBlock] = []
    for rule in rules:
        rule_cap = min(cap, rule.cap) if rule.cap is not None else cap
        key = numbers.groups(rule.columns)
        # A record blank in any column of the rule has no key.
        blank = key < 0
        sizes = np.bincount(key[~blank], minlength=int(key.max(initial=-1)) + 1)
        too_big = np.flatnonzero(sizes > rule_cap)
        # A rule with a cap of its own leaves out its common keys by design; only the run's cap, which
        # no ordinary key reaches, is worth a warning naming the key, largest block first.
        if rule.cap is None:
            for group in sorted(too_big, key=lambda group: (-sizes[group], group)):
                row = frame.iloc[int(np.flatnonzero(key == group)[0])]
                key_text = "|".join(str(row[column]) for column in rule.columns)
                capped.append(CappedBlock(rule.name, key_text, int(sizes[group])))
        kept = np.where(sizes <= rule_cap, sizes, 0)
        pairs = int((kept * (kept - 1) // 2).sum())
        left_out = blank | np.isin(key, too_big)
        frame[rule.key_column] = pd.arrays.IntegerArray(np.where(left_out, 0, key), left_out)
        counts.append({"rule": rule.name, "description": rule.description, "pairs": pairs})
    return counts, capped


# Backends --------------------------------------------------------------------------------------------------


def _spark_session() -> Any:
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    # Spark makes its SQL warehouse directory when the session starts, in the working directory unless
    # told otherwise; Splink stores no table there, so the temporary directory keeps it out of the way of
    # whoever ran `dancu match` (it used to appear in the project's checkout after the tests).
    warehouse = Path(tempfile.gettempdir()) / "dancu-spark-warehouse"
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dancu-match")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _database_api(backend: str, connection: Any) -> Any:
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI(connection)
    if backend == "spark":
        from splink import SparkAPI

        return SparkAPI(spark_session=_spark_session(), break_lineage_method="persist")
    raise ValueError(f"unknown backend {backend!r}")


# The run ---------------------------------------------------------------------------------------------------


def _pairs_sharing(frame: pd.DataFrame, columns: Sequence[str], numbers: _Numbers | None = None) -> int:
    """The pairs of records equal in each of `columns`, none of them blank: those `block_on` gives."""
    key = (numbers or _Numbers(frame)).groups(columns)
    sizes = np.bincount(key[key >= 0])
    return int((sizes * (sizes - 1) // 2).sum())


def _paired(numbers: _Numbers, columns: Sequence[str]) -> np.ndarray:
    """Which records are equal in each of `columns` to another record: the records of the pairs."""
    key = numbers.groups(columns)
    known = key >= 0
    sizes = np.bincount(key[known])
    paired = np.zeros(len(key), dtype=bool)
    paired[known] = sizes[key[known]] >= 2
    return paired


@contextlib.contextmanager
def _part_model(db_api: Any, frame: pd.DataFrame, settings: Any) -> Iterator[Any]:
    """A linker of `settings` over the records on a cursor of its own of the run's DuckDB database, for a
    part of the training run in a thread of its own (`_u_shares`, `_expectation_maximisation`)."""
    from splink import DuckDBAPI, Linker

    cursor = db_api.duckdb_con.cursor()
    try:
        table = DuckDBAPI(cursor).register(frame, dataset_display_name=RECORDS_TABLE)
        yield Linker(table, settings, log_level=None, validate_settings=False)
    finally:
        cursor.close()


def _take_estimates(linker: Any, estimated: Iterable[Any], trained: str) -> None:
    """Give the run's model the estimates of models of some of its comparisons (each once), as Splink's
    training gives its own: each level records them in its list `trained` (`_trained_u_probabilities` or
    `_trained_m_probabilities`), and the model takes up each level's median of them."""
    by_name = {comparison.output_column_name: comparison for comparison in linker._settings_obj.comparisons}
    for found in estimated:
        comparison = by_name[found.output_column_name]
        levels = zip(
            comparison._comparison_levels_excluding_null, found._comparison_levels_excluding_null, strict=True
        )
        for level, estimate in levels:
            getattr(level, trained).extend(getattr(estimate, trained))
    linker._populate_m_u_from_trained_values()


def _u_sample(linker: Any, frame: pd.DataFrame, max_pairs: int) -> pd.DataFrame:
    """The records whose pairs Splink's estimate of u compares: the share of `frame` that gives about
    `max_pairs` pairs, drawn as Splink draws it (a hash of the record's id and `SEED`).

    Only the ids are read from DuckDB: the sample taken with every column read the whole table's text
    from Python objects, a tenth of a second on 100,000 records for 1,400 rows.
    """
    from splink.internals.estimate_u import _rows_needed_for_n_pairs
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat

    proportion = min(_rows_needed_for_n_pairs(max_pairs) / len(frame), 1.0)
    ids = linker._settings_obj.column_info_settings.unique_id_input_columns
    sample_filter = linker._proportion_sample_sql(proportion, ids, seed=SEED)
    pipeline = enqueue_df_concat(linker, CTEPipeline())
    # The filter is Splink's own SQL, of a number and the seed: nothing outside reaches it.
    sql = f"select unique_id from __splink__df_concat where 1=1 {sample_filter}"  # noqa: S608
    pipeline.enqueue_sql(sql, "__dancu_u_sample")
    drawn = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    try:
        sampled = drawn.as_pandas_dataframe()["unique_id"]
    finally:
        drawn.drop_table_from_database_and_remove_from_cache()
    return frame[frame["unique_id"].isin(sampled)]


# Per comparison, per level (its comparison vector value): the level's u, in the shape that Splink's
# `m_u_records_to_lookup_dict` gives and its `append_u_probability_to_comparison_level_trained_probabilities`
# reads.
UShares = dict[str, dict[int, dict[str, float]]]


def _u_shares(db_api: Any, sample: pd.DataFrame, names: tuple[str, ...]) -> UShares:
    """The u of each level of the comparisons `names`: its share of the pairs of `sample` not null in the
    comparison, as Splink counts it. The pairs are counted per combination of the comparisons' levels in
    one query over all the pairs (Splink's own SQL for the pairs and their comparison vectors); a level no
    pair reached has no share."""
    from splink.internals.estimate_u import _estimate_u_comparison_vector_sqls
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.settings import Settings
    from splink.internals.vertically_concatenate import enqueue_df_concat

    # Without term frequencies, which Splink's estimate of u leaves out anyway.
    with _part_model(db_api, sample, _settings((), trained=False, only=names)) as part:
        settings = part._settings_obj
        ids = settings.column_info_settings.unique_id_input_columns
        selected = [name for column in ids for name in column.l_r_names_as_l_r]
        for comparison in settings.comparisons:
            selected += [
                name for name in comparison._columns_to_select_for_blocking() if name not in selected
            ]
        vectors = Settings.columns_to_select_for_comparison_vector_values(
            unique_id_input_columns=ids,
            comparisons=settings.comparisons,
            retain_matching_columns=False,
            additional_columns_to_retain=[],
        )
        pipeline = enqueue_df_concat(part, CTEPipeline())
        pipeline.enqueue_list_of_sqls(
            _estimate_u_comparison_vector_sqls(
                db_api=part._db_api,
                input_tablename_l="__splink__df_concat",
                input_tablename_r="__splink__df_concat",
                link_type=settings._link_type,
                source_dataset_input_column=None,
                unique_id_input_column=settings.column_info_settings.unique_id_input_column,
                blocking_cols=selected,
                cv_cols=vectors,
                rhs_chunk_num=1,
                rhs_num_chunks=1,
            )
        )
        gammas = ", ".join(comparison._gamma_column_name for comparison in settings.comparisons)
        # Column names of our own comparisons: nothing outside reaches this SQL.
        sql = f"select {gammas}, count(*) as pairs from __splink__df_comparison_vectors group by all"  # noqa: S608
        pipeline.enqueue_sql(sql, "__dancu_u_patterns")
        counted = part._db_api.sql_pipeline_to_splink_dataframe(pipeline)
        try:
            patterns = counted.as_pandas_dataframe()
        finally:
            counted.drop_table_from_database_and_remove_from_cache()
    shares: UShares = {}
    for comparison in settings.comparisons:
        pairs = patterns.groupby(comparison._gamma_column_name)["pairs"].sum()
        # -1 is the level of the pairs with a null value, which Splink leaves out of the shares.
        pairs = pairs[(pairs.index != -1) & (pairs > 0)]
        total = float(pairs.sum())
        shares[comparison.output_column_name] = {
            int(level): {"u_probability": float(count) / total} for level, count in pairs.items()
        }
    return shares


def _estimate_u(linker: Any, frame: pd.DataFrame, db_api: Any, *, max_pairs: int) -> None:
    """The u probabilities from `max_pairs` random pairs: Splink's estimate, worked out in one query per
    thread on DuckDB.

    Splink draws a sample of records and compares all their pairs, in one query per comparison, each of
    which draws the pairs again and runs on one core (a table of a few thousand records is too small for
    DuckDB to split between threads). Here the sample is drawn once, as Splink draws it (`_u_sample`),
    and two threads (`U_THREADS`) each compare its pairs on all of their comparisons at once, on a cursor
    of their own, counting the pairs in each combination of levels (`_u_shares`). A level's u is its
    share of the pairs not null in the comparison, as Splink counts it, and goes to the run's model as
    Splink's estimate gives it, so the probabilities are the ones Splink's estimate gives (tested). On
    the Vietnamese set of 100,000 records without PINs this took 0.65 s where Splink's estimate in two
    threads took 1.3 (RESULTS.md, session 36). Spark shares out its own queries between its executors.

    Splink's default probes the sample in ten chunks to stop early once every level has been seen a
    hundred times; our sample is at most a million pairs, which one pass covers: FEBRL3's u estimation
    went from 2.2 to 1.0 s with the same probabilities (every figure of the evaluation unchanged).
    """
    from concurrent.futures import ThreadPoolExecutor

    from splink import DuckDBAPI
    from splink.internals.m_u_records_to_parameters import (
        append_u_probability_to_comparison_level_trained_probabilities,
    )

    if not isinstance(db_api, DuckDBAPI):
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=SEED, num_chunks=1)
        return

    sample = _u_sample(linker, frame, max_pairs)
    shares: UShares = {}
    with ThreadPoolExecutor(max_workers=len(U_THREADS)) as pool:
        for part in pool.map(lambda names: _u_shares(db_api, sample, names), U_THREADS):
            shares.update(part)
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            # A level no pair reached is marked as Splink marks it: not observed.
            append_u_probability_to_comparison_level_trained_probabilities(
                level, shares, comparison.output_column_name, "estimate u by random sampling"
            )
    linker._populate_m_u_from_trained_values()


def _em_sessions(frame: pd.DataFrame, numbers: _Numbers | None = None) -> dict[EMSession, int]:
    """The sessions of expectation maximisation for these records, each with the pairs its rule gives:
    `EM_LOCAL_SESSIONS` where each gives at least `EM_LOCAL_MIN_PAIRS`, `EM_SESSIONS` otherwise."""
    numbers = numbers or _Numbers(frame)
    local = {session: _pairs_sharing(frame, session.columns, numbers) for session in EM_LOCAL_SESSIONS}
    if min(local.values()) >= EM_LOCAL_MIN_PAIRS:
        return local
    return {session: _pairs_sharing(frame, session.columns, numbers) for session in EM_SESSIONS}


def _expectation_maximisation(
    linker: Any, frame: pd.DataFrame, db_api: Any, notes: list[str]
) -> tuple[EMSession, ...]:
    """The m probabilities, by expectation maximisation on the pairs of each session (`_em_sessions`);
    return the sessions.

    Each session learns the fields its blocking rule does not use, less those it `leaves`: with
    `EM_SESSIONS`, every field but the name and the year among pairs that share the folded name and the
    birth year, the name among pairs that share the full date of birth, the date among pairs that share
    the folded name (docs/matching.md). Splink takes each level's m as the median of the sessions'
    estimates.

    On DuckDB the sessions run side by side, each on a copy of the model as u estimation left it and on a
    cursor of its own, and their estimates are given to the run's model as a session of Splink's own gives
    them. An iteration is a small query that DuckDB plans on one core, a few dozen of them a session, so
    one after another they left a core idle: on 100,000 records without PINs the three took 1.4-1.8 s,
    side by side 1.0-1.1 s (RESULTS.md, session 34). Started from the same model, a session no longer
    starts from the estimates of the one before, which is also what kept a level that one session's
    matches never reached at zero for the next (5.8e-205 for "CMND one digit different" where the
    duplicates have no CMND, and the next session underflowed and was lost whole). Every m is raised to
    the floor at the end (`_floor_m_probabilities`; the priors put back after it all lie above it).

    A session that fails (an m value estimated at zero on a small file) gives no estimate, and the run's
    notes say so. On Spark the sessions run one after another (`_sessions_in_turn`).
    """
    from concurrent.futures import ThreadPoolExecutor

    from splink import DuckDBAPI

    numbers = _Numbers(frame)
    pairs = _em_sessions(frame, numbers)
    sessions = tuple(pairs)
    if not isinstance(db_api, DuckDBAPI):
        _sessions_in_turn(linker, pairs, notes)
        return sessions

    model = linker.misc.save_model_to_json()
    # A session learns from the records of its pairs alone, the others paired with no one: Splink blocked
    # the whole table for each session, which at a million records took longer than learning from the
    # 10,000 to 45,000 pairs of each (RESULTS.md, session 37). A sampled session keeps the whole table,
    # from which Splink draws its sample.
    records = {
        session: frame if pairs[session] > EM_MAX_PAIRS else frame[_paired(numbers, session.columns)]
        for session in sessions
    }

    def run(session: EMSession) -> tuple[Any, str | None]:
        learnt = [c for c in model["comparisons"] if c["output_column_name"] not in session.leaves]
        # Without the rules of the run's blocking, whose keys Splink would otherwise carry along every pair
        # of the session (`_blocking_keys_left_behind`): the session blocks on its own rule.
        part_model = {**model, "comparisons": learnt, "blocking_rules_to_generate_predictions": []}
        with _part_model(db_api, records[session], part_model) as part:
            failed = _em_session(part, session, pairs[session])
            return part._settings_obj.comparisons, failed

    with ThreadPoolExecutor(max_workers=EM_THREADS) as pool:
        # The session of the most pairs (as many as it learns from) starts first, so that the short ones
        # share the other thread. On RLdata10000 the name's session (7,230 pairs) takes 0.57 s, the date's
        # and the name and year's 0.36 and 0.19: started third, after the name and year's, it made the
        # three take 0.69 s instead of 0.59 (RESULTS.md, session 36). The estimates are taken in the order
        # of the sessions, whichever ends first.
        started = {
            session: pool.submit(run, session)
            for session in sorted(sessions, key=lambda session: -min(pairs[session], EM_MAX_PAIRS))
        }
        results = [started[session].result() for session in sessions]
    for comparisons, failed in results:
        if failed is not None:
            notes.append(failed)
        else:
            _take_estimates(linker, comparisons, "_trained_m_probabilities")
    _floor_m_probabilities(linker)
    return sessions


def _em_session(linker: Any, session: EMSession, pairs: int) -> str | None:
    """Run one session of expectation maximisation on `linker`'s model; say why if it failed."""
    from splink import block_on
    from splink.internals.exceptions import SplinkException

    rule = block_on(*session.columns)
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule,
            estimate_without_term_frequencies=True,
            # Sampling the blocked pairs costs a preliminary pass; worth it only where they are many.
            max_pairs=EM_MAX_PAIRS if pairs > EM_MAX_PAIRS else None,
        )
    except (SplinkException, ValueError, ZeroDivisionError) as exc:
        return f"EM session {rule.get_blocking_rule('duckdb').blocking_rule_sql} skipped: {exc}"
    return None


def _sessions_in_turn(linker: Any, pairs: dict[EMSession, int], notes: list[str]) -> None:
    """Run the sessions one after another on the run's model itself (Spark's way).

    A session trains the model without the comparisons it leaves, which are put back as they were after
    it. A session that fails leaves the comparisons it had switched off missing from the model: the model
    before it is put back."""
    for session, count in pairs.items():
        before = copy.deepcopy(linker._settings_obj)
        every = linker._settings_obj.comparisons
        linker._settings_obj.comparisons = [c for c in every if c.output_column_name not in session.leaves]
        failed = _em_session(linker, session, count)
        if failed is not None:
            linker._settings_obj = before
            notes.append(failed)
        else:
            trained = {c.output_column_name: c for c in linker._settings_obj.comparisons}
            linker._settings_obj.comparisons = [trained.get(c.output_column_name, c) for c in every]
        _floor_m_probabilities(linker)


def _train(linker: Any, frame: pd.DataFrame, db_api: Any, notes: list[str]) -> tuple[EMSession, ...]:
    """Train the model on the records; return the sessions of expectation maximisation it learnt in."""
    from splink import block_on
    from splink.internals.exceptions import SplinkException

    records = len(frame)

    try:
        linker.training.estimate_probability_two_random_records_match(
            [
                block_on("pin"),
                block_on("cmnd"),
                # Not the family name with the date: a third of Vietnamese are Nguyễn, and at 100,000
                # people 24,000 pairs of strangers shared it with a date of birth, against 2,000 the
                # given name. Dropping it lowered the prior of a registry of 100,000 people with nobody
                # twice by 3.7 bits, and raised F1 on RLdata and the Vietnamese set without PINs.
                block_on("given_folded", "dob"),
            ],
            # With the family-name rule, these rules found 59 % (RLdata) to 99 % (the Vietnamese set)
            # of the true pairs of the evaluation sets. The recall given is lower on purpose: the
            # unsupervised m and u values leave the model under-confident on every set (its best F1 lies
            # at thresholds of 0.03 to 0.7), and a larger prior moves its probabilities towards what they
            # should be. Measured: F1 at 0.9 rises on RLdata and FEBRL and does not move on the
            # Vietnamese set (RESULTS.md). A registry run caps the result (`_cap_prior`).
            recall=PRIOR_RULES_RECALL,
        )
    except (SplinkException, ValueError) as exc:
        notes.append(f"prior not estimated, default kept: {exc}")
    _estimate_u(
        linker,
        frame,
        db_api,
        max_pairs=min(U_SAMPLE_PAIRS, U_PAIRS_PER_RECORD * records, records * (records - 1) // 2),
    )
    priors = copy.deepcopy(linker._settings_obj)
    sessions = _expectation_maximisation(linker, frame, db_api, notes)
    _priors_where_training_went_astray(linker, priors, notes)
    return sessions


def _cap_prior(linker: Any, records: int, duplicate_share: float, notes: list[str]) -> None:
    """Lower the probability that two random records match to what `duplicate_share` allows.

    The prior is estimated from the pairs that near-certain rules find, and in a population of millions
    the same given name and date of birth is no longer near-certain: strangers who share them grow with
    the square of the population, so the estimate stays at about one pair in a million whatever the
    size, while the true prior of a registry that holds each person once falls as one over its size.
    Left so, a registry of a million people proposed thirteen thousand pairs of namesakes born the same
    day. With at most `duplicate_share` of the records a second record of someone, there are at most
    that many pairs of one person among n(n-1)/2.
    """
    if records < 2:
        return
    # duplicate_share * n pairs of one person among n(n-1)/2.
    ceiling = 2 * duplicate_share / (records - 1)
    estimated = float(linker._settings_obj._probability_two_random_records_match)
    if estimated <= ceiling:
        return
    linker._settings_obj._probability_two_random_records_match = ceiling
    notes.append(
        f"prior lowered from {estimated:.3g} to {ceiling:.3g}: at most {duplicate_share:.2%} of the records "
        "a second record of someone"
    )


def _priors_where_training_went_astray(linker: Any, priors: Any, notes: list[str]) -> None:
    """Put back the prior m values of a describing comparison that training taught to count for a match
    what is no evidence of one.

    Expectation maximisation finds the class of pairs that agree most, whatever it is. With few
    duplicates among many people (a registry: a few hundred among a commune's tens of thousands) that
    class is not "the same person" but "born the same day" or "named alike": trained on the demo's
    registry, more than 90 % of its "matches" had wholly different birth dates and parents, and trained
    on a registry of 100,000 people with nobody twice, 94 % of them lived in another commune of the same
    province. Siblings and strangers born the same day were proposed as one person. The records of one
    person agree at least in part on their name, birth date, parents and address. The levels that the
    priors weigh at `NO_EVIDENCE_BITS` or less ("different", "same province only", "same family name,
    rest different"; against the u just estimated from random pairs) are no evidence of that; a
    comparison whose training gave them more than `ASTRAY_SHARE` of the matches learnt another class,
    and its priors are the better model. Identifiers are not judged so: the second record of a person in
    a registry has a PIN of its own.
    """
    before = {comparison.output_column_name: comparison for comparison in priors.comparisons}
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        if name not in DESCRIBING_COMPARISONS:
            continue
        pairs = [
            (level, prior)
            for level, prior in zip(comparison.comparison_levels, before[name].comparison_levels, strict=True)
            if not level.is_null_level
        ]
        no_evidence = [
            (level, prior)
            for level, prior in pairs
            # A level whose u is fixed weighs what other comparisons have counted (the household), not
            # whether the two records are one person.
            if not prior._fix_u_probability
            and prior.m_probability is not None
            and prior.u_probability
            and math.log2(prior.m_probability / prior.u_probability) <= NO_EVIDENCE_BITS
        ]
        share = sum(level.m_probability or 0.0 for level, _prior in no_evidence)
        if share <= ASTRAY_SHARE:
            continue
        for level, prior in pairs:
            level.m_probability = prior.m_probability
        labels = ", ".join(f"'{level.label_for_charts}'" for level, _prior in no_evidence)
        notes.append(
            f"{name}: training gave {share:.0%} of the matches to levels that are no evidence ({labels}); "
            "priors kept"
        )


def _floor_m_probabilities(linker: Any) -> None:
    """Give every level at least `M_FLOOR` of the matches after training.

    Expectation maximisation drives the m probability of a level that no match reached in its sample
    to zero, and a zero makes that level's weight minus infinity: one date typed 2093 for 1993 would
    then outweigh a shared PIN, name, parents and address. No level is impossible for a true match.
    """
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            m = level.m_probability
            if m is None or m < M_FLOOR:
                level.m_probability = M_FLOOR


def _level_labels(model: dict[str, Any]) -> tuple[dict[str, dict[int, str]], dict[str, Any]]:
    """gamma value -> label per comparison, and the trained m and u of each level, from the model."""
    labels: dict[str, dict[int, str]] = {}
    parameters: dict[str, Any] = {}
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        real = [level for level in levels if not level.get("is_null_level")]
        labels[name] = {-1: "null"}
        parameters[name] = []
        for index, level in enumerate(real):
            gamma = len(real) - 1 - index
            labels[name][gamma] = level.get("label_for_charts", "")
            parameters[name].append(
                {
                    "level": labels[name][gamma],
                    "m": level.get("m_probability"),
                    "u": level.get("u_probability"),
                }
            )
    return labels, parameters


def _weights(pairs: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
    """Each field's match weight (log2 of its Bayes factor, plus the term-frequency adjustment when the
    level has one) as `w_<field>`: the numbers that add up to the pair's match weight."""
    for name in fields:
        weight = pairs[f"mw_{name}"].astype(float)
        adjustment = f"mw_tf_adj_{name}"
        if adjustment in pairs.columns:
            weight = weight + pairs[adjustment].astype(float)
        pairs[f"w_{name}"] = weight
    return pairs


def _clusters(ids: pd.Series, pairs: pd.DataFrame, threshold: float) -> dict[str, str]:
    """Each record's cluster: the records joined, directly or through others, by pairs at or above
    `threshold`, named by the least record id among them, as Splink's clustering names them.

    The pairs kept are in memory already (the pairs file and the review queue read them), and so few
    beside the records (one for each record of a person found twice) that one pass of SciPy's connected
    components over them replaces Splink's, which runs a round of queries on the backend until no name
    changes: on Spark a third of a small run's time."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    # A record id given twice is one node, as it is to Splink's clustering, which joins pairs by id.
    index = pd.Index(ids.astype(str).unique())
    names = index.to_numpy(dtype=object, copy=True)
    linked = pairs.loc[pairs["match_probability"] >= threshold, ["unique_id_l", "unique_id_r"]]
    if len(linked):
        left = index.get_indexer(linked["unique_id_l"].astype(str))
        right = index.get_indexer(linked["unique_id_r"].astype(str))
        # Only the records of some pair take part: a record of no pair is a cluster of its own, by its id.
        nodes, ends = np.unique(np.concatenate([left, right]), return_inverse=True)
        graph = coo_matrix(
            (np.ones(len(left), dtype=np.int8), (ends[: len(left)], ends[len(left) :])),
            shape=(len(nodes), len(nodes)),
        )
        _, component = connected_components(graph, directed=False)
        names[nodes] = pd.Series(names[nodes]).groupby(component).transform("min").to_numpy()
    return dict(zip(index, names.tolist(), strict=True))


def run_matcher(
    prepared: PreparedRecords,
    *,
    backend: str = "duckdb",
    threshold: float = DEFAULT_THRESHOLD,
    keep_above: float = DEFAULT_KEEP_ABOVE,
    block_cap: int = DEFAULT_BLOCK_CAP,
    train: bool | None = None,
    duplicate_share: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> MatchResult:
    """Block, train, score and cluster the prepared records; see the module docstring.

    `duplicate_share`, when given, caps the prior: at most that share of the records is taken to be a
    second record of someone (see `_cap_prior`)."""

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    # The preparation froze what it left, so that the collector would not walk it during the run
    # (`prepare.prepare_records`); when the run ends it goes back to the collector, lest a reference cycle
    # among it that dies later (in a process that runs matches for days) never be collected.
    with gc_thawed_after():
        started = time.monotonic()
        frame = _frame(prepared.columns)
        rule_counts, capped = _block_keys(frame, BLOCKING_RULES, block_cap)
        workdir = tempfile.mkdtemp(prefix="dancu-match-")
        connection = None
        if backend == "duckdb":
            import duckdb
            from django.conf import settings

            # DuckDB would otherwise take most of the machine's memory for its tables of pairs; with a limit
            # it spills to `workdir` instead, which keeps a national run inside a worker's memory.
            connection = duckdb.connect(
                config={"memory_limit": settings.DANCU_MATCH_MEMORY, "temp_directory": workdir}
            )
        db_api = None
        try:
            db_api = _database_api(backend, connection)
            return _run(
                frame,
                rule_counts,
                capped,
                db_api,
                backend=backend,
                threshold=threshold,
                keep_above=keep_above,
                block_cap=block_cap,
                train=train,
                duplicate_share=duplicate_share,
                say=say,
                started=started,
            )
        finally:
            if connection is not None:
                connection.close()
            if backend == "spark" and db_api is not None:
                # Spark's session outlives the run, and the records' view with it: the next run in the
                # process (a worker's second match) could not register its records under the same name.
                db_api.spark.catalog.dropTempView(RECORDS_TABLE)
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _blocking_keys_left_behind(linker: Any) -> Iterator[None]:
    """Score the blocked pairs without carrying the blocking keys along.

    Retaining the matching columns keeps each pair's level in each comparison (`gamma_*`), which the pairs
    file and the review queue show; Splink then also retains every column a blocking rule names, on both
    sides of each pair: at a million records, seventeen keys on 4.9 million pairs that the scoring joined,
    carried and wrote for nothing, a fifth of its time (RESULTS.md, session 38). The pairs are blocked
    already, and Splink scores the pairs it keeps (`compute_blocked_pairs_for_predict`), so the rules are
    taken out of the settings while the pairs are scored, and put back after.
    """
    settings = linker._settings_obj
    rules = settings._blocking_rules_to_generate_predictions
    settings._blocking_rules_to_generate_predictions = []
    try:
        yield
    finally:
        settings._blocking_rules_to_generate_predictions = rules


def _run(
    frame: pd.DataFrame,
    rule_counts: list[dict[str, Any]],
    capped: list[CappedBlock],
    db_api: Any,
    *,
    backend: str,
    threshold: float,
    keep_above: float,
    block_cap: int,
    train: bool | None,
    duplicate_share: float | None,
    say: Callable[[str], None],
    started: float,
) -> MatchResult:
    from splink import Linker

    from dancu.matching import splink_em, splink_memo

    splink_memo.install()
    splink_em.install()
    records = len(frame)
    notes: list[str] = []
    # Splink reports every SQL step at INFO and each level it could not train at WARNING (expected on
    # small files: a level that no pair reaches keeps its prior); the command's own lines say enough.
    logging.getLogger("splink").setLevel(logging.ERROR)
    table = db_api.register(frame, dataset_display_name=RECORDS_TABLE)
    should_train = records >= MIN_RECORDS_TO_TRAIN if train is None else train
    # The settings are ours and the table is the one `prepare` builds, both held by the tests: Splink's
    # validation of them (its logs for a user's misspelt column) costs about half a second of every run.
    linker = Linker(
        table, _settings(BLOCKING_RULES, trained=should_train), log_level=None, validate_settings=False
    )
    sessions: tuple[EMSession, ...] = ()
    if should_train:
        say(f"training on {records:,} records")
        sessions = _train(linker, frame, db_api, notes)
    else:
        notes.append(f"{records} records: too few to train, prior parameters used")
    if duplicate_share is not None:
        _cap_prior(linker, records, duplicate_share, notes)
    say("scoring candidate pairs")
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    # The table name is Splink's own, not input: nothing outside reaches this SQL.
    count_sql = f"select count(*) as n from {blocked.physical_name}"  # noqa: S608
    counted = linker.misc.query_sql(count_sql, output_type="pandas")
    candidate_pairs = int(counted["n"].iloc[0])
    with _blocking_keys_left_behind(linker):
        predictions = linker.inference.predict(threshold_match_probability=keep_above, warning_mode="never")
    model = linker.misc.save_model_to_json()
    prior = float(linker._settings_obj._probability_two_random_records_match)
    labels, parameters = _level_labels(model)
    pairs = _weights(predictions.as_pandas_dataframe(), list(labels))
    say("clustering")
    clusters = _clusters(frame["unique_id"], pairs, threshold)
    if backend == "spark":
        db_api.spark.catalog.clearCache()
    summary = {
        "records": records,
        "backend": backend,
        "threshold": threshold,
        "candidate_pairs": candidate_pairs,
        "kept_pairs": len(pairs),
        "pairs_at_threshold": int((pairs["match_probability"] >= threshold).sum()),
        "blocking_rules": rule_counts,
        "block_cap": block_cap,
        "capped_blocks": [{"rule": b.rule, "key": b.key, "records": b.records} for b in capped],
        "trained": should_train,
        "probability_two_random_records_match": prior,
        # The log2 prior odds: a pair's match weight is this plus the weight of each field.
        "prior_weight": math.log2(prior / (1 - prior)),
        "parameters": parameters,
        # The pairs each session of expectation maximisation learnt from: the columns they share.
        "em_sessions": [list(session.columns) for session in sessions],
        "notes": notes,
        "seconds": round(time.monotonic() - started, 2),
    }
    return MatchResult(
        clusters=clusters,
        pairs=pairs,
        summary=summary,
        level_labels=labels,
        block_keys=frame[["unique_id", *(rule.key_column for rule in BLOCKING_RULES)]],
    )


def explain_pair(left: dict[str, Any], right: dict[str, Any]) -> dict[str, str]:
    """The comparison level each field of two prepared records (`prepare.prepare_row`) lands in, under
    the prior model: what the pair's row of the pairs file would say, for one pair chosen by hand."""
    from splink import DuckDBAPI, Linker

    frame = _frame({name: [left[name], right[name]] for name in PREPARED_COLUMNS})
    for rule in BLOCKING_RULES:
        frame[rule.key_column] = None
    linker = Linker(DuckDBAPI().register(frame), _settings(BLOCKING_RULES, trained=False), log_level=None)
    records = frame.to_dict("records")
    scored = linker.inference.score_pair(records[0], records[1]).as_pandas_dataframe()
    labels, _parameters = _level_labels(linker.misc.save_model_to_json())
    return {name: labels[name][int(scored[f"gamma_{name}"].iloc[0])] for name in labels}
