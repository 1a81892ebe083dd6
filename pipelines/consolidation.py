"""Consolidation as pure decisions: conflicts between facts, memory strength, archiving.

Nothing here touches a database; :mod:`graph.consolidation` loads facts from Neo4j, asks these
functions what to do and writes the answer.

**One-value predicates.** A predicate is *single-valued* along one endpoint, its *key*: "live
in" keyed by the subject (a person lives in one city at a time), "be cto of" keyed by the object
(a company has one CTO at a time). The keys come from :attr:`ConsolidationConfig.single_valued`
plus, optionally, a learned signal (:func:`learn_single_valued`): predicates whose keys almost
always have one value. Predicates in :attr:`ConsolidationConfig.accumulating` (visit, like, work
with, ...) never conflict.

**Equivalent predicates** share a canonical form (:meth:`PredicateRules.canonical`): the
normalised predicate, "become X"/"remain X"/"be named X"/"serve as X" read as "be X", configured
aliases ("move to" means "live in" afterwards), and optionally predicates whose embeddings are
close. A role keeps one form whatever its wording (:func:`predicate_form`): titles are
abbreviated ("chief operating officer" is "coo"), "at" reads "of", and modifiers that do not
change the position are dropped ("be first cto of", "be new cto of", "be interim cto of" are
all "be cto of"). Two modifiers are kept as the fact's :class:`Phase`: *first* (the first
holder precedes every other one, even undated) and *former* ("X was the former CTO": the same
relation, no longer holding when said).

**Supersession** (:func:`decide_supersessions`) is a function of the set of facts only, never
of the order they arrived in: within one (canonical predicate, key entity) group, a fact is
superseded by the earliest later fact with a different value, where "later" compares
``valid_at`` and falls back to ``observed_at``. Restating the same value never supersedes. A
*former* fact (or one whose stated end is not after its start) describes the past: it never
supersedes and is never current. An undated fact is placed by what else is known: a *first*
holder before every dated one, a value also stated with a date with the latest such statement;
other undated facts are left alone.

**Memory strength** (:func:`memory_strength`) follows MemoryBank's use of the Ebbinghaus curve
(Zhong et al., 2024, "MemoryBank: Enhancing Large Language Models with Long-Term Memory",
AAAI): ``R = exp(-t / S)``, where ``t`` is the time since the item was last learned or recalled
and ``S`` grows with each reinforcement. Below a threshold an item is archived (kept, hidden
from retrieval by default, restorable); hard deletion happens only under an explicit
:class:`RetentionPolicy`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from pipelines.models import canonical_name, normalize_predicate

__all__ = [
    "DEFAULT_ACCUMULATING",
    "DEFAULT_ALIASES",
    "DEFAULT_SINGLE_VALUED",
    "ForgettingPlan",
    "PredicateForm",
    "Phase",
    "plan_forgetting",
    "predicate_form",
    "AgeBasis",
    "ArchiveAction",
    "ConflictResolution",
    "ConsolidationConfig",
    "DecayConfig",
    "FactRecord",
    "FunctionalKey",
    "MemoryItem",
    "PredicateRules",
    "PredicateStats",
    "RetentionPolicy",
    "SingleValued",
    "Supersession",
    "archive_action",
    "build_predicate_rules",
    "current_value_conflicts",
    "decide_supersessions",
    "effective_time",
    "learn_single_valued",
    "memory_strength",
    "names_match",
    "predicate_statistics",
    "reinforcement",
]


class FunctionalKey(StrEnum):
    """The endpoint that determines the other one: it has one value at a time."""

    SUBJECT = "subject"
    OBJECT = "object"


@dataclass(frozen=True)
class SingleValued:
    """A predicate that holds one value at a time per ``key`` entity."""

    predicate: str
    key: FunctionalKey = FunctionalKey.SUBJECT


_ROLES = ("ceo", "cto", "coo", "cfo", "cmo", "cio", "president")

DEFAULT_SINGLE_VALUED: tuple[SingleValued, ...] = (
    SingleValued("live in", FunctionalKey.SUBJECT),
    SingleValued("be based in", FunctionalKey.SUBJECT),
    SingleValued("be headquartered in", FunctionalKey.SUBJECT),
    SingleValued("work at", FunctionalKey.SUBJECT),
    SingleValued("work for", FunctionalKey.SUBJECT),
    SingleValued("be married to", FunctionalKey.SUBJECT),
    SingleValued("be bear in", FunctionalKey.SUBJECT),
    SingleValued("be born in", FunctionalKey.SUBJECT),
    *(SingleValued(f"be {role} of", FunctionalKey.OBJECT) for role in _ROLES),
)
"""One-value predicates known in advance (normalised, lemma form) with their key endpoint."""

DEFAULT_ACCUMULATING: tuple[str, ...] = (
    "visit",
    "like",
    "love",
    "enjoy",
    "work with",
    "meet",
    "know",
    "write",
    "design",
    "build",
    "found",
    "join",
    "acquire",
    "mention",
    "mentor",
    "climb",
    "give",
    "study",
    "graduate from",
    "have",
    "use",
    "attend",
)
"""Predicates whose values add up; they never conflict, whatever the learned signal says."""

DEFAULT_ALIASES: tuple[tuple[str, str], ...] = (
    ("move to", "live in"),
    ("relocate to", "live in"),
    ("reside in", "live in"),
    ("be headquarter in", "be headquartered in"),
    ("move headquarters to", "be headquartered in"),
    ("have headquarters in", "be headquartered in"),
    ("be employed at", "work at"),
    ("be employed by", "work for"),
)
"""(predicate, canonical predicate): different words for the same relation."""


@dataclass(frozen=True)
class ConsolidationConfig:
    """How conflicts are detected. Frozen; build a new one to change it.

    Attributes:
        single_valued: one-value predicates with their key endpoint.
        accumulating: predicates that never conflict.
        aliases: (predicate, canonical predicate) pairs.
        learn: also treat predicates as single-valued when the graph says so.
        learn_min_keys: a learned predicate needs at least this many distinct key entities.
        learn_min_ratio: ... and at least this share of them with exactly one value.
        embedding_threshold: cosine at or above which two predicates are the same (only used
            when a similarity function is given).
    """

    single_valued: tuple[SingleValued, ...] = DEFAULT_SINGLE_VALUED
    accumulating: tuple[str, ...] = DEFAULT_ACCUMULATING
    aliases: tuple[tuple[str, str], ...] = DEFAULT_ALIASES
    learn: bool = True
    learn_min_keys: int = 8
    learn_min_ratio: float = 0.95
    embedding_threshold: float = 0.9


# --- predicates -------------------------------------------------------------------------------

_BECOME = re.compile(r"^(become|became|becomes|remain|remains|remained|stay) ")
_APPOINTED = re.compile(
    r"^(?:be (?:named|appointed|elected|re-elected|reelected|reappointed|made|hired|chosen|"
    r"selected|installed|confirmed|nominated|promoted)(?: as| to)?|serve as|act as) "
)
"""Passive appointments and "serve as": before an attribute ("be named cto of") they are the
state "be cto of"."""

ROLE_TITLES: dict[str, str] = {
    "chief executive officer": "ceo",
    "chief executive": "ceo",
    "chief technology officer": "cto",
    "chief technical officer": "cto",
    "chief operating officer": "coo",
    "chief operations officer": "coo",
    "chief financial officer": "cfo",
    "chief finance officer": "cfo",
    "chief marketing officer": "cmo",
    "chief information officer": "cio",
    "chief information security officer": "ciso",
    "chairwoman": "chair",
    "chairman": "chair",
    "chairperson": "chair",
}
"""Spelled-out titles and their usual short form (compared lower case, whole words)."""

_TITLE_WORDS = frozenset(
    {
        *ROLE_TITLES.values(),
        "ceo",
        "cto",
        "coo",
        "cfo",
        "cmo",
        "cio",
        "cpo",
        "cso",
        "president",
        "chair",
        "director",
        "head",
        "manager",
        "officer",
        "executive",
        "leader",
        "chancellor",
        "governor",
        "mayor",
        "minister",
        "secretary",
        "editor",
        "coach",
        "captain",
        "dean",
        "principal",
        "treasurer",
        "superintendent",
        "commissioner",
        "ambassador",
    }
)
"""Head words of a role: a position one holder fills at a time (for modifier stripping)."""

_FORMER = frozenset({"former", "ex", "previous", "past", "erstwhile", "onetime", "one-time"})
_FIRST = frozenset({"first", "founding", "original", "inaugural"})
_ROLE_MODIFIERS = frozenset(
    {
        *_FIRST,
        "new",
        "current",
        "present",
        "incumbent",
        "sitting",
        "then",
        "interim",
        "acting",
        "temporary",
        "permanent",
        "outgoing",
        "incoming",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "newly",
        "appointed",
        "named",
    }
)
"""Words before a role that do not change which position it is ("the interim CTO")."""

_ATTRIBUTE = re.compile(r"^be (?P<core>.+) (?P<prep>of|at|for|with)$")


class Phase(StrEnum):
    """What a predicate's modifiers say about when the fact holds."""

    PLAIN = "plain"
    FIRST = "first"
    """The first holder ("the first CTO of"): before every other value of its group."""
    FORMER = "former"
    """A past holder ("the former CTO of"): no longer holds when stated."""


@dataclass(frozen=True)
class PredicateForm:
    """A predicate in canonical lemma form with the :class:`Phase` its modifiers gave."""

    predicate: str
    phase: Phase = Phase.PLAIN


def _role_core(words: list[str]) -> tuple[list[str], Phase] | None:
    """The role without modifiers, and its phase; ``None`` if ``words`` name no role."""
    phase = Phase.PLAIN
    kept: list[str] = []
    for word in words:
        bare = word.removeprefix("ex-")
        if bare != word and bare:
            phase = Phase.FORMER
            word = bare
        if word in _FORMER:
            phase = Phase.FORMER
        elif word in _ROLE_MODIFIERS and not kept:
            if word in _FIRST and phase is Phase.PLAIN:
                phase = Phase.FIRST
        else:
            kept.append(word)
    text = " ".join(kept)
    for title, short in sorted(ROLE_TITLES.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"\b{re.escape(title)}\b", short, text)
    core = text.split()
    return (core, phase) if _is_title(core) else None


def _is_title(core: list[str]) -> bool:
    """``cto``, ``chief scientist``... ending in a title word, or a title word before ``of``
    (``head of engineering``, ``vice president of sales``)."""
    if not core:
        return False
    if core[-1] in _TITLE_WORDS:
        return True
    return "of" in core[1:] and core[core.index("of", 1) - 1] in _TITLE_WORDS


def predicate_form(predicate: str) -> PredicateForm:
    """Canonical lemma form of a predicate and the phase its modifiers give.

    "become X"/"remain X" read as "be X". For a role (an attribute whose head is a title such
    as CTO, president or head) "be named/appointed/elected X" and "serve as X" read "be X" too,
    titles are abbreviated (:data:`ROLE_TITLES`), "at"/"for"/"with" read "of" (unless the
    role has its own "of": "head of sales at"), modifiers such
    as first/new/current/interim/acting are dropped, former/ex-/previous give
    :attr:`Phase.FORMER` and first/founding/original :attr:`Phase.FIRST`:
    ``"Be the first Chief Technology Officer at"`` -> ``("be cto of", FIRST)``. Other
    predicates keep their normalised form.
    """
    pred = _BECOME.sub("be ", normalize_predicate(predicate))
    match = _ATTRIBUTE.match(_APPOINTED.sub("be ", pred))
    if match is None:
        return PredicateForm(pred)
    role = _role_core([w for w in match["core"].split() if w not in ("the", "a", "an")])
    if role is None:
        return PredicateForm(pred)
    core, phase = role
    prep = match["prep"] if "of" in core else "of"  # "head of sales at" keeps its "at"
    return PredicateForm(f"be {' '.join(core)} {prep}", phase)


def _lemma_predicate(predicate: str) -> str:
    """Canonical lemma form of a predicate (see :func:`predicate_form`)."""
    return predicate_form(predicate).predicate


@dataclass(frozen=True)
class PredicateStats:
    """For one canonical predicate and one key direction: how many values each key has."""

    predicate: str
    key: FunctionalKey
    keys: int
    keys_with_one_value: int

    @property
    def ratio(self) -> float:
        return self.keys_with_one_value / self.keys if self.keys else 0.0


@dataclass(frozen=True)
class PredicateRules:
    """Canonical predicates and their keys, resolved for one graph. Build with
    :func:`build_predicate_rules`."""

    canonical_of: Mapping[str, str]
    keys_of: Mapping[str, frozenset[FunctionalKey]]
    learned: frozenset[tuple[str, FunctionalKey]] = frozenset()

    def canonical(self, predicate: str) -> str:
        pred = _lemma_predicate(predicate)
        return self.canonical_of.get(pred, pred)

    def phase(self, predicate: str) -> Phase:
        """First, former or plain (see :func:`predicate_form`)."""
        return predicate_form(predicate).phase

    def keys(self, predicate: str) -> frozenset[FunctionalKey]:
        """The key endpoints along which ``predicate`` is single-valued (empty: accumulating)."""
        return self.keys_of.get(self.canonical(predicate), frozenset())

    def single_valued_predicates(self, predicates: Iterable[str]) -> list[str]:
        """The raw predicates of ``predicates`` that are single-valued along some key."""
        return sorted({p for p in predicates if self.keys(p)})


def _canonical_map(
    predicates: Iterable[str],
    config: ConsolidationConfig,
    similarity: Callable[[str, str], float] | None,
) -> dict[str, str]:
    aliases = {_lemma_predicate(a): _lemma_predicate(b) for a, b in config.aliases}
    accumulating = {_lemma_predicate(p) for p in config.accumulating}
    configured = {_lemma_predicate(s.predicate) for s in config.single_valued}
    lemmas = sorted({_lemma_predicate(p) for p in predicates})
    mapping = {p: aliases.get(p, p) for p in lemmas}
    if similarity is None:
        return mapping
    # Embedding closeness: attach each predicate to the first close one, configured ones first.
    # Accumulating predicates are never merged (visit ~ live in would be a disaster).
    heads = sorted(
        {v for v in mapping.values() if v not in accumulating},
        key=lambda p: (p not in configured, p),
    )
    for pred in lemmas:
        target = mapping[pred]
        if target in accumulating or target in configured:
            continue
        for head in heads:
            if head == target:
                break
            if similarity(target, head) >= config.embedding_threshold:
                mapping[pred] = head
                break
    return mapping


def predicate_statistics(
    triples: Iterable[tuple[str, str, str]], canonical: Callable[[str], str]
) -> list[PredicateStats]:
    """Per canonical predicate and direction: keys and keys with exactly one value.

    ``triples`` are distinct ``(predicate, subject_id, object_id)`` rows.
    """
    values: dict[tuple[str, FunctionalKey, str], set[str]] = defaultdict(set)
    for predicate, subject, obj in triples:
        pred = canonical(predicate)
        values[(pred, FunctionalKey.SUBJECT, subject)].add(obj)
        values[(pred, FunctionalKey.OBJECT, obj)].add(subject)
    counts: dict[tuple[str, FunctionalKey], list[int]] = defaultdict(lambda: [0, 0])
    for (pred, key, _), vals in values.items():
        entry = counts[(pred, key)]
        entry[0] += 1
        entry[1] += len(vals) == 1
    return [
        PredicateStats(pred, key, keys, one) for (pred, key), (keys, one) in sorted(counts.items())
    ]


def learn_single_valued(
    stats: Iterable[PredicateStats], config: ConsolidationConfig
) -> list[SingleValued]:
    """Predicates whose keys almost always have one value (and that are not accumulating)."""
    accumulating = {_lemma_predicate(p) for p in config.accumulating}
    return [
        SingleValued(s.predicate, s.key)
        for s in stats
        if s.predicate not in accumulating
        and s.keys >= config.learn_min_keys
        and s.ratio >= config.learn_min_ratio
    ]


def build_predicate_rules(
    predicates: Iterable[str],
    config: ConsolidationConfig | None = None,
    *,
    triples: Iterable[tuple[str, str, str]] = (),
    similarity: Callable[[str, str], float] | None = None,
) -> PredicateRules:
    """Resolve canonical predicates and their keys for the predicates of one graph.

    Args:
        predicates: every predicate in the graph.
        config: the configured lists (defaults when None).
        triples: distinct ``(predicate, subject_id, object_id)`` rows, for the learned signal
            (ignored when ``config.learn`` is false).
        similarity: cosine of two predicate strings; when given, predicates closer than
            ``config.embedding_threshold`` share a canonical form.
    """
    config = config or ConsolidationConfig()
    preds = list(predicates)
    canonical_of = _canonical_map(preds, config, similarity)
    accumulating = {_lemma_predicate(p) for p in config.accumulating}
    keys_of: dict[str, set[FunctionalKey]] = defaultdict(set)
    configured: set[str] = set()
    for entry in config.single_valued:
        pred = _lemma_predicate(entry.predicate)
        pred = canonical_of.get(pred, pred)
        keys_of[pred].add(entry.key)
        configured.add(pred)
    learned: set[tuple[str, FunctionalKey]] = set()
    if config.learn:

        def canon(p: str) -> str:
            lemma = _lemma_predicate(p)
            return canonical_of.get(lemma, lemma)

        stats = predicate_statistics(triples, canon)
        for entry in learn_single_valued(stats, config):
            if entry.predicate in configured:
                continue  # the configuration decides the direction of configured predicates
            keys_of[entry.predicate].add(entry.key)
            learned.add((entry.predicate, entry.key))
    return PredicateRules(
        canonical_of=dict(canonical_of),
        keys_of={p: frozenset(k) for p, k in keys_of.items() if k and p not in accumulating},
        learned=frozenset(learned),
    )


# --- supersession -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FactRecord:
    """What conflict resolution needs to know about one fact."""

    id: str
    subject_id: str
    predicate: str
    object_id: str
    valid_at: datetime | None = None
    observed_at: datetime | None = None
    invalid_at: datetime | None = None
    """The end stated by the source (not one set by supersession)."""

    def key_of(self, key: FunctionalKey) -> str:
        return self.subject_id if key is FunctionalKey.SUBJECT else self.object_id

    def value_of(self, key: FunctionalKey) -> str:
        return self.object_id if key is FunctionalKey.SUBJECT else self.subject_id


def effective_time(fact: FactRecord) -> datetime | None:
    """When the fact starts to hold, as far as we know: ``valid_at``, else ``observed_at``."""
    return fact.valid_at or fact.observed_at


@dataclass(frozen=True)
class Supersession:
    """``newer`` replaces ``older``: ``older`` stops holding at ``invalid_at``."""

    newer_id: str
    older_id: str
    invalid_at: datetime
    predicate: str
    key: FunctionalKey


@dataclass(frozen=True)
class ConflictResolution:
    """What :func:`decide_supersessions` decided."""

    supersessions: tuple[Supersession, ...] = ()
    ambiguous: tuple[tuple[str, str], ...] = ()
    """Pairs of facts with different values and the same time: left alone."""
    undated: tuple[str, ...] = ()
    """Facts in a conflict group that have no time at all: left alone."""


_BEFORE_ALL = datetime.min.replace(tzinfo=UTC)
"""The time of an undated *first* holder: before every dated fact."""


def _is_past(fact: FactRecord, rules: PredicateRules) -> bool:
    """A fact about the past: a *former* holder, or one whose stated end is not after its
    start (it had ended when it was stated)."""
    if rules.phase(fact.predicate) is Phase.FORMER:
        return True
    start = effective_time(fact)
    return fact.invalid_at is not None and start is not None and fact.invalid_at <= start


def _placed_time(fact: FactRecord, rules: PredicateRules) -> datetime | None:
    """Where a fact sits on its group's time line: its own time, else before all for an undated
    *first* holder (``None``: it cannot be placed by itself)."""
    time = effective_time(fact)
    if time is None and rules.phase(fact.predicate) is Phase.FIRST:
        return _BEFORE_ALL
    return time


def _groups(
    facts: Iterable[FactRecord], rules: PredicateRules
) -> dict[tuple[str, FunctionalKey, str], list[FactRecord]]:
    groups: dict[tuple[str, FunctionalKey, str], list[FactRecord]] = defaultdict(list)
    for fact in facts:
        pred = rules.canonical(fact.predicate)
        for key in rules.keys(fact.predicate):
            groups[(pred, key, fact.key_of(key))].append(fact)
    return groups


def _group_supersessions(
    pred: str, key: FunctionalKey, members: list[FactRecord], rules: PredicateRules
) -> tuple[list[Supersession], set[tuple[str, str]], set[str]]:
    """Supersessions, ambiguous pairs and unplaced facts of one group."""
    members = [f for f in members if not _is_past(f, rules)]
    timed = [(t, f) for f in members if (t := _placed_time(f, rules)) is not None]
    timed.sort(key=lambda tf: (tf[0], tf[1].observed_at or tf[0], tf[1].id))
    unplaced = [f for f in members if _placed_time(f, rules) is None]
    found: dict[str, Supersession] = {}
    ambiguous: set[tuple[str, str]] = set()
    several = len({f.value_of(key) for f in members}) > 1
    for i, (t_old, older) in enumerate(timed if several else ()):
        for t_new, newer in timed[i + 1 :]:
            if newer.value_of(key) == older.value_of(key):
                continue
            if t_new == t_old:
                ambiguous.add(tuple(sorted((older.id, newer.id))))  # type: ignore[arg-type]
                continue
            found[older.id] = Supersession(newer.id, older.id, t_new, pred, key)
            break
    # An undated restatement of a value shares the fate of that value's latest dated fact.
    latest: dict[str, FactRecord] = {}
    for t, f in timed:
        if t is not _BEFORE_ALL:
            latest[f.value_of(key)] = f
    left: set[str] = set()
    for fact in unplaced:
        anchor = latest.get(fact.value_of(key))
        if anchor is None:
            left.add(fact.id)
        elif anchor.id in found:
            s = found[anchor.id]
            found[fact.id] = Supersession(s.newer_id, fact.id, s.invalid_at, pred, key)
    return list(found.values()), ambiguous, left


def decide_supersessions(facts: Iterable[FactRecord], rules: PredicateRules) -> ConflictResolution:
    """Which facts supersede which, as a function of the set of facts (not their order).

    Facts are compared only within a group sharing the canonical predicate and the key entity
    (so only facts that share an endpoint are ever compared). In a group, each fact is
    superseded by the earliest strictly later fact with a different value; a later fact with
    the same value is a restatement and supersedes nothing. Facts about the past (*former*
    holders, facts that had ended when stated) take no part. An undated *first* holder comes
    before every dated fact; an undated fact whose value is also stated with a date shares the
    fate of the latest such statement; other undated facts are left alone. A fact superseded
    in several groups keeps the earliest replacement. Equal times with different values are
    reported as ambiguous and left alone.
    """
    best: dict[str, Supersession] = {}
    ambiguous: set[tuple[str, str]] = set()
    undated: set[str] = set()
    for (pred, key, _), members in sorted(_groups(facts, rules).items()):
        found, unclear, left = _group_supersessions(pred, key, members, rules)
        ambiguous |= unclear
        undated |= left
        for candidate in found:
            current = best.get(candidate.older_id)
            if current is None or (candidate.invalid_at, candidate.newer_id) < (
                current.invalid_at,
                current.newer_id,
            ):
                best[candidate.older_id] = candidate
    # A pair is only ambiguous if nothing else resolved the older one.
    still = tuple(sorted(p for p in ambiguous if p[0] not in best and p[1] not in best))
    return ConflictResolution(
        supersessions=tuple(sorted(best.values(), key=lambda s: (s.older_id, s.newer_id))),
        ambiguous=still,
        undated=tuple(sorted(undated)),
    )


def current_value_conflicts(
    facts: Iterable[FactRecord],
    rules: PredicateRules,
    superseded: Iterable[str],
    now: datetime,
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Groups with more than one current value: ``(predicate, key entity, fact ids)``.

    A fact is current when it is not superseded, not about the past (a *former* holder) and
    its stated ``invalid_at`` is not past.
    """
    gone = set(superseded)
    problems: list[tuple[str, str, tuple[str, ...]]] = []
    for (pred, key, key_id), members in sorted(_groups(facts, rules).items()):
        live = [
            f
            for f in members
            if f.id not in gone
            and (f.invalid_at is None or f.invalid_at > now)
            and rules.phase(f.predicate) is not Phase.FORMER
        ]
        if len({f.value_of(key) for f in live}) > 1:
            problems.append((pred, key_id, tuple(sorted(f.id for f in live))))
    return problems


# --- entity names -----------------------------------------------------------------------------


def _singular(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("ses", "xes", "ches", "shes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(_singular(t) for t in canonical_name(name).split())


_FUNCTION_WORDS = frozenset(
    [
        "of",
        "the",
        "a",
        "an",
        "for",
        "and",
        "or",
        "to",
        "in",
        "at",
        "on",
        "from",
        "with",
        "by",
        "as",
        "before",
        "after",
        "since",
        "until",
        "during",
        "about",
        "than",
        "former",
    ]
)


def names_match(a: str, b: str) -> bool:
    """Name evidence that two entities are one: the same canonical form once plurals are
    singular, or one name contained in the other as whole words ("Halvard" in "Halvard
    Robotics") where the extra words are no function words ("board of the Kaveri Institute"
    is not "Kaveri Institute", "Before Oriel" is not "Oriel")."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return False
    if ta == tb:
        return True
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    for i in range(len(long_) - len(short) + 1):
        if long_[i : i + len(short)] == short:
            extra = long_[:i] + long_[i + len(short) :]
            return not _FUNCTION_WORDS.intersection(extra)
    return False


# --- memory strength and archiving ------------------------------------------------------------


class AgeBasis(StrEnum):
    """What the age of a memory is measured from."""

    INGESTED = "ingested"
    """Since hippograph learned it (``created_at``) or last recalled it."""
    OBSERVED = "observed"
    """Since its source was written or said (``observed_at``) or it was last recalled."""


@dataclass(frozen=True)
class DecayConfig:
    """Forgetting curve parameters.

    Attributes:
        tau_days: time constant of a memory reinforced once (days).
        mention_weight: strength added per extra source stating a fact.
        retrieval_weight: strength added per retrieval.
        archive_threshold: strength below which an item is archived.
        age_basis: what age is measured from.
    """

    tau_days: float = 90.0
    mention_weight: float = 1.0
    retrieval_weight: float = 2.0
    archive_threshold: float = 0.05
    age_basis: AgeBasis = AgeBasis.INGESTED

    def __post_init__(self) -> None:
        if self.tau_days <= 0:
            raise ValueError("tau_days must be positive")
        if not 0.0 <= self.archive_threshold < 1.0:
            raise ValueError("archive_threshold must be in [0, 1)")


@dataclass(frozen=True)
class RetentionPolicy:
    """What may be forgotten for good. The default deletes nothing.

    Attributes:
        delete_archived_after_days: hard-delete items archived at least this long ago
            (None: never delete).
        archive_current_values: also archive the current value of a one-value predicate.
    """

    delete_archived_after_days: float | None = None
    archive_current_values: bool = False


def reinforcement(mentions: int, retrievals: int, config: DecayConfig) -> float:
    """Memory strength ``S``: 1 for an item learned once, more per extra mention/retrieval."""
    return (
        1.0
        + config.mention_weight * max(mentions - 1, 0)
        + config.retrieval_weight * max(retrievals, 0)
    )


def memory_strength(age_days: float, mentions: int, retrievals: int, config: DecayConfig) -> float:
    """Retention ``exp(-age / (S * tau))`` in (0, 1]; ``S`` from :func:`reinforcement`."""
    s = reinforcement(mentions, retrievals, config)
    return math.exp(-max(age_days, 0.0) / (s * config.tau_days))


@dataclass(frozen=True)
class MemoryItem:
    """A fact or passage as forgetting sees it."""

    id: str
    kind: str
    mentions: int = 1
    retrievals: int = 0
    learned_at: datetime | None = None
    observed_at: datetime | None = None
    last_accessed_at: datetime | None = None
    archived_at: datetime | None = None
    protected: bool = False
    """The current value of a one-value predicate (or a passage stating one)."""
    supports: tuple[str, ...] = ()
    """For a passage: the facts it states (it is their provenance)."""

    def reference_time(self, basis: AgeBasis) -> datetime | None:
        base = self.learned_at if basis is AgeBasis.INGESTED else self.observed_at
        base = base or self.learned_at or self.observed_at
        times = [t for t in (base, self.last_accessed_at) if t is not None]
        return max(times) if times else None

    def strength(self, now: datetime, config: DecayConfig) -> float:
        ref = self.reference_time(config.age_basis)
        age = (now - ref).total_seconds() / 86400.0 if ref else 0.0
        return memory_strength(age, self.mentions, self.retrievals, config)


class ArchiveAction(StrEnum):
    KEEP = "keep"
    ARCHIVE = "archive"
    RESTORE = "restore"
    DELETE = "delete"


def archive_action(
    item: MemoryItem,
    now: datetime,
    decay: DecayConfig,
    retention: RetentionPolicy,
) -> ArchiveAction:
    """What to do with one item tonight.

    - archived, and reinforced back above the threshold since: RESTORE;
    - archived for at least ``retention.delete_archived_after_days``: DELETE;
    - not archived, below the threshold and not protected (unless the policy allows): ARCHIVE;
    - otherwise KEEP.
    """
    strength = item.strength(now, decay)
    weak = strength < decay.archive_threshold
    if item.archived_at is not None:
        if not weak:
            return ArchiveAction.RESTORE
        days = retention.delete_archived_after_days
        if days is not None and (now - item.archived_at).total_seconds() >= days * 86400.0:
            return ArchiveAction.DELETE
        return ArchiveAction.KEEP
    if weak and (not item.protected or retention.archive_current_values):
        return ArchiveAction.ARCHIVE
    return ArchiveAction.KEEP


@dataclass(frozen=True)
class ForgettingPlan:
    """Ids per action, for facts and passages."""

    archive: dict[str, tuple[str, ...]] = field(default_factory=dict)
    restore: dict[str, tuple[str, ...]] = field(default_factory=dict)
    delete: dict[str, tuple[str, ...]] = field(default_factory=dict)


def plan_forgetting(
    items: Sequence[MemoryItem],
    now: datetime,
    decay: DecayConfig,
    retention: RetentionPolicy,
) -> ForgettingPlan:
    """:func:`archive_action` for every item, grouped by action and kind.

    A passage is never deleted while a fact it states stays live (not archived): it is that
    fact's provenance, and deleting it would delete the fact with it.
    """
    out: dict[ArchiveAction, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    actions = {(i.kind, i.id): archive_action(i, now, decay, retention) for i in items}
    live_facts = {
        i.id
        for i in items
        if i.kind == "fact"
        and (
            actions[("fact", i.id)] is ArchiveAction.RESTORE
            or (i.archived_at is None and actions[("fact", i.id)] is ArchiveAction.KEEP)
        )
    }
    for item in items:
        action = actions[(item.kind, item.id)]
        if action is ArchiveAction.DELETE and live_facts.intersection(item.supports):
            action = ArchiveAction.KEEP
        out[action][item.kind].append(item.id)

    def freeze(action: ArchiveAction) -> dict[str, tuple[str, ...]]:
        return {k: tuple(sorted(v)) for k, v in sorted(out[action].items())}

    return ForgettingPlan(
        archive=freeze(ArchiveAction.ARCHIVE),
        restore=freeze(ArchiveAction.RESTORE),
        delete=freeze(ArchiveAction.DELETE),
    )
