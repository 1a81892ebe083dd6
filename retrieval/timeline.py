"""Facts in time: the ``as_of`` filter, supersession status and the timeline.

**Stored marks first.** Once a graph has been consolidated (:attr:`LoadedGraph.consolidated`),
a fact's status comes from what consolidation stored: a fact with an incoming ``SUPERSEDES``
(``superseded_by``) or whose ``invalid_at`` has passed is history; nothing is inferred here, so
retrieval says what consolidation decided (:func:`stored_supersession`).

**``as_of`` semantics.** ``as_of`` is a question about the world at T (valid time), asked
with what hippograph knew at T: a fact is shown when it started by T (``valid_at``, else
``observed_at``, <= T) and was known by T (``observed_at`` <= T when set); it is *current* at
T when ``invalid_at`` is unset or later than T, and history otherwise (when its superseding
fact, if any, was known by T). ``expired_at`` (when consolidation retired the fact, a
transaction time) is deliberately not used: the answer about 2020 must not depend on when the
nightly consolidation job happened to run.

**Fallback.** In a graph never consolidated (no fact or passage carries a mark) supersession
is computed on the fly, over a local set of facts (:func:`supersession`), with the same rule
consolidation applies: in a slot, a dated fact is superseded by the next later fact with
another value. A fact fills a *slot* when its predicate is single-valued:

* a role over an organisation, ``"<verb> [the] [first|new|...] <role> of"`` with a role such
  as CEO, CTO or vice president of engineering: the slot is (role, object) and its value the
  subject (Priya Nandakumar, then Daniel Osei, as CTO of Halvard Robotics);
* an attribute of the subject (:data:`SINGLE_VALUED`: where it lives or is based, its
  employer, its job, its name): the slot is (family, subject) and its value the object.

A dated fact is superseded when a later-dated fact fills the same slot with another value;
a fact whose ``invalid_at`` has passed is superseded too. Undated facts never supersede and
are never superseded. A fact's time is its ``valid_at``, else its ``observed_at``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from graph.projection_loader import FactRecord, LoadedGraph
from pipelines.consolidation import Phase, predicate_form
from pipelines.models import normalize_predicate
from retrieval.results import TimelineEntry
from retrieval.temporal import TemporalCues

SINGLE_VALUED: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "live in",
            "move to",
            "relocate to",
            "reside in",
            "settle in",
            "be based in",
            "be headquartered in",
            "headquarter in",
        ),
        "location",
    ),
    **dict.fromkeys(("work at", "work for", "be employed by", "join"), "employer"),
    **dict.fromkeys(("work as", "serve as", "be promoted to"), "job"),
    **dict.fromkeys(("be called", "rename to", "be renamed to", "be now called"), "name"),
}
"""Single-valued predicates (normalised) by slot family; the subject holds one value."""

_ROLES = (
    r"ceo|cto|coo|cfo|cmo|cio|chief [a-z ]+ officer|(?:vice )?president(?: of [a-z ]+)?"
    r"|chair(?:man|woman|person)?|head of [a-z ]+|(?:managing |technical )?director(?: of [a-z ]+)?"
)
_ROLE_PREDICATE = re.compile(
    r"^(?:be|become|remain|serve as|act as|be named|be appointed|name as|appoint as)?\s*"
    r"(?:the\s+)?(?:first\s+|new\s+|interim\s+|acting\s+|former\s+)?"
    rf"(?P<role>{_ROLES})\s+(?:of|at)$"
)

Slot = tuple[str, str, str]


def fact_time(fact: FactRecord) -> datetime | None:
    """When the fact holds from, as far as we know: ``valid_at``, else ``observed_at``."""
    return fact.valid_at or fact.observed_at


def known_at(fact: FactRecord, as_of: datetime) -> bool:
    """Whether the fact was already known and valid at ``as_of``.

    Known: ``observed_at <= as_of`` when it is set. Valid: ``valid_at <= as_of`` and
    ``invalid_at`` unset or later; a fact without ``valid_at`` counts as valid from when it
    was observed; a fact with neither time cannot be placed and is excluded.
    """
    if fact.observed_at is not None and fact.observed_at > as_of:
        return False
    start = fact.valid_at or fact.observed_at
    if start is None or start > as_of:
        return False
    return fact.invalid_at is None or fact.invalid_at > as_of


def slot_of(fact: FactRecord) -> tuple[Slot, str] | None:
    """The fact's single-valued slot and its value in it, or ``None`` for a multi-valued fact."""
    form = predicate_form(fact.predicate)
    if form.phase is Phase.FORMER:
        return None  # a former holder is history: it never supersedes (its invalid_at ends it)
    predicate = normalize_predicate(fact.predicate)
    role = _ROLE_PREDICATE.match(form.predicate) or _ROLE_PREDICATE.match(predicate)
    if role is not None:
        return ("role", role["role"], fact.object_id), fact.subject_id
    family = SINGLE_VALUED.get(predicate)
    if family is not None:
        return ("attr", family, fact.subject_id), fact.object_id
    return None


def supersession(facts: Iterable[FactRecord], *, now: datetime | None = None) -> dict[str, str]:
    """``{fact_id: superseding_fact_id}`` for every superseded fact among ``facts``.

    ``superseding_fact_id`` is the next later fact of the slot with a different value, or ``""``
    when the fact's own ``invalid_at`` is before ``now``.
    """
    slots: defaultdict[Slot, list[tuple[datetime, str, str]]] = defaultdict(list)
    out: dict[str, str] = {}
    for fact in facts:
        if now is not None and fact.invalid_at is not None and fact.invalid_at <= now:
            out[fact.id] = ""
        when, slot = fact_time(fact), slot_of(fact)
        if when is not None and slot is not None:
            slots[slot[0]].append((when, slot[1], fact.id))
    for members in slots.values():
        members.sort()
        for i, (when, value, fid) in enumerate(members):
            later = next((m for m in members[i + 1 :] if m[0] > when and m[1] != value), None)
            if later is not None:
                out.setdefault(fid, later[2])
    return out


def started_by(fact: FactRecord, as_of: datetime) -> bool:
    """Whether the fact had started and was known at ``as_of`` (it may have ended since)."""
    if fact.observed_at is not None and fact.observed_at > as_of:
        return False
    start = fact.valid_at or fact.observed_at
    return start is not None and start <= as_of


def stored_supersession(
    graph: LoadedGraph, facts: Iterable[FactRecord], *, as_of: datetime | None, now: datetime
) -> dict[str, str]:
    """``{fact_id: superseding_fact_id or ""}`` from consolidation's stored marks.

    Without ``as_of``: every fact with a ``SUPERSEDES`` link, and every fact whose ``invalid_at``
    is before ``now``. With ``as_of``: the facts whose ``invalid_at`` is at or before ``as_of``
    (and whose superseding fact, if any, was already known then).
    """
    out: dict[str, str] = {}
    for fact in facts:
        newer = fact.superseded_by
        if as_of is None:
            if newer is not None or (fact.invalid_at is not None and fact.invalid_at <= now):
                out[fact.id] = newer or ""
            continue
        if fact.invalid_at is None or fact.invalid_at > as_of:
            continue
        replacement = graph.facts.get(newer) if newer is not None else None
        if newer is None or replacement is None:
            out[fact.id] = newer or ""
        elif replacement.observed_at is None or replacement.observed_at <= as_of:
            out[fact.id] = newer
    return out


def supersession_status(
    graph: LoadedGraph, facts: Iterable[FactRecord], *, as_of: datetime | None, now: datetime
) -> dict[str, str]:
    """Superseded facts among ``facts``: stored marks in a consolidated graph, else on the fly.

    ``facts`` should be the local set (the facts around the candidates) visible at ``as_of``.
    """
    if graph.consolidated:
        return stored_supersession(graph, facts, as_of=as_of, now=now)
    return supersession(facts, now=as_of or now)


def visible_facts(
    graph: LoadedGraph, fact_ids: Iterable[str], as_of: datetime | None
) -> list[FactRecord]:
    """The facts (by id) that exist and, with ``as_of``, had started and were known then.

    Facts that had already ended by ``as_of`` stay (as history, see
    :func:`supersession_status`); :func:`known_at` is the stricter "held at ``as_of``".
    """
    facts = (graph.facts[f] for f in dict.fromkeys(fact_ids) if f in graph.facts)
    return [f for f in facts if as_of is None or started_by(f, as_of)]


def neighbourhood_facts(graph: LoadedGraph, entity_ids: Iterable[str]) -> set[str]:
    """Every fact touching one of the entities: the local set supersession is decided on."""
    return {f for e in entity_ids for f in graph.entity_facts.get(e, ())}


def build_timeline(
    graph: LoadedGraph,
    *,
    entity_ids: Iterable[str],
    top_fact_ids: Iterable[str],
    cues: TemporalCues,
    as_of: datetime | None,
    superseded: Mapping[str, str],
    limit: int,
    now: datetime | None = None,
) -> list[TimelineEntry]:
    """The dated facts about the seed entities and the top facts' subjects, in time order.

    "Temporally adjacent" facts are those sharing a subject with a top fact or a seed (the
    history of the same person, company or thing), plus the roles held at a seed (its CEOs).
    Cues (before/after/in) restrict the window;
    ``as_of`` hides what was not yet known or valid. Superseded facts stay, flagged, as
    history (``superseded`` from :func:`supersession_status`; in a consolidated graph the
    stored marks of every entry are read too). Undated facts are left out. At most ``limit``
    entries: the top facts first, then the latest others.
    """
    top = list(dict.fromkeys(top_fact_ids))
    subjects = set(entity_ids) | {graph.facts[f].subject_id for f in top if f in graph.facts}
    pool = set(top) | {
        f for e in subjects for f in graph.entity_facts.get(e, ()) if _about(graph.facts[f], e)
    }
    facts = [
        f for f in visible_facts(graph, pool, as_of) if fact_time(f) and cues.admits(fact_time(f))
    ]
    top_set = set(top)
    facts.sort(key=lambda f: (f.id not in top_set, -_ts(fact_time(f))))
    chosen = sorted(facts[:limit], key=lambda f: (_ts(fact_time(f)), f.id))
    if graph.consolidated:
        stored = stored_supersession(graph, chosen, as_of=as_of, now=now or datetime.now(UTC))
        superseded = {**superseded, **stored}
    return [
        TimelineEntry(
            fact_id=f.id,
            time=fact_time(f),
            time_kind="valid_at" if f.valid_at is not None else "observed_at",
            statement=f.statement,
            subject=f.subject,
            predicate=f.predicate,
            object=f.object,
            invalid_at=f.invalid_at,
            superseded=f.id in superseded,
            superseded_by=superseded.get(f.id) or None,
        )
        for f in chosen
    ]


def _about(fact: FactRecord, entity_id: str) -> bool:
    """Whether the fact is part of the entity's history: its subject, or a role it holds."""
    if fact.subject_id == entity_id:
        return True
    slot = slot_of(fact)
    return slot is not None and slot[0][0] == "role" and fact.object_id == entity_id


def _ts(when: datetime | None) -> float:
    return when.timestamp() if when is not None else float("-inf")
