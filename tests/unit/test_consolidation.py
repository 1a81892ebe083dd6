"""Consolidation decisions, hermetic: one-value predicates, supersession, decay, archiving."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.consolidation import (
    AgeBasis,
    ArchiveAction,
    ConsolidationConfig,
    DecayConfig,
    FactRecord,
    FunctionalKey,
    MemoryItem,
    Phase,
    PredicateForm,
    RetentionPolicy,
    SingleValued,
    archive_action,
    build_predicate_rules,
    current_value_conflicts,
    decide_supersessions,
    learn_single_valued,
    memory_strength,
    names_match,
    plan_forgetting,
    predicate_form,
    predicate_statistics,
)


def dt(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def fact(
    fid: str,
    subject: str,
    predicate: str,
    obj: str,
    valid: datetime | None = None,
    observed: datetime | None = None,
    invalid: datetime | None = None,
) -> FactRecord:
    return FactRecord(fid, subject, predicate, obj, valid, observed, invalid)


RULES = build_predicate_rules(
    ["be cto of", "become cto of", "live in", "move to", "visit", "be headquartered in"]
)


# --- one-value predicates ---------------------------------------------------------------------


def test_configured_predicates_have_their_key_and_equivalents_share_a_canonical_form() -> None:
    assert RULES.keys("be cto of") == {FunctionalKey.OBJECT}
    assert RULES.canonical("become cto of") == "be cto of"
    assert RULES.keys("Became  CTO of.") == {FunctionalKey.OBJECT}
    assert RULES.canonical("move to") == "live in"
    assert RULES.keys("move to") == {FunctionalKey.SUBJECT}
    assert RULES.keys("be headquartered in") == {FunctionalKey.SUBJECT}
    assert RULES.keys("visit") == frozenset()


def test_learned_signal_finds_functional_predicates_in_both_directions() -> None:
    # "pilot": each drone has one pilot (key = object), pilots fly several drones.
    triples = [("pilot", f"p{i % 3}", f"d{i}") for i in range(12)]
    # "prefer": everyone prefers exactly one thing (key = subject).
    triples += [("prefer", f"u{i}", f"x{i % 2}") for i in range(12)]
    # "visit": accumulating, even if the data looks functional.
    triples += [("visit", f"u{i}", f"c{i}") for i in range(12)]
    config = ConsolidationConfig(learn_min_keys=10)
    rules = build_predicate_rules({t[0] for t in triples}, config, triples=triples)
    assert rules.keys("pilot") == {FunctionalKey.OBJECT}
    assert rules.keys("prefer") == {FunctionalKey.SUBJECT}
    assert rules.keys("visit") == frozenset()
    assert ("pilot", FunctionalKey.OBJECT) in rules.learned
    # Too little evidence: nothing learned.
    small = build_predicate_rules({"pilot"}, config, triples=triples[:5])
    assert small.keys("pilot") == frozenset()


def test_learned_signal_respects_the_ratio_and_never_overrides_the_configuration() -> None:
    # 10 subjects, 2 of them with two values: ratio 0.8 < 0.95.
    triples = [("own", f"s{i}", f"o{i}") for i in range(10)] + [
        ("own", "s0", "extra0"),
        ("own", "s1", "extra1"),
    ]
    stats = predicate_statistics(triples, str)
    by_key = {(s.predicate, s.key): s for s in stats}
    assert by_key[("own", FunctionalKey.SUBJECT)].keys == 10
    assert by_key[("own", FunctionalKey.SUBJECT)].keys_with_one_value == 8
    assert learn_single_valued(stats, ConsolidationConfig(learn_min_keys=5)) == [
        SingleValued("own", FunctionalKey.OBJECT)
    ]
    # "live in" is configured by subject; data suggesting the object direction is ignored.
    lives = [("live in", f"p{i}", f"c{i}") for i in range(20)]
    rules = build_predicate_rules({"live in"}, ConsolidationConfig(learn_min_keys=5), triples=lives)
    assert rules.keys("live in") == {FunctionalKey.SUBJECT}


def test_embedding_closeness_joins_predicates_but_never_accumulating_ones() -> None:
    close = {frozenset({"reside at", "live in"}), frozenset({"visit", "live in"})}

    def similarity(a: str, b: str) -> float:
        return 0.95 if frozenset({a, b}) in close else 0.1

    rules = build_predicate_rules(["reside at", "live in", "visit"], similarity=similarity)
    assert rules.canonical("reside at") == "live in"
    assert rules.keys("reside at") == {FunctionalKey.SUBJECT}
    assert rules.canonical("visit") == "visit" and rules.keys("visit") == frozenset()


# --- supersession -----------------------------------------------------------------------------


def test_role_change_newer_cto_supersedes_the_older_one() -> None:
    ana = fact("ana", "Ana", "become cto of", "Halvard", valid=dt(2019, 3))
    daniel = fact("daniel", "Daniel", "be cto of", "Halvard", valid=dt(2022))
    marta = fact("marta", "Marta", "be cto of", "Zephyr", valid=dt(2023))
    decision = decide_supersessions([ana, daniel, marta], RULES)
    assert [(s.newer_id, s.older_id) for s in decision.supersessions] == [("daniel", "ana")]
    assert decision.supersessions[0].invalid_at == dt(2022)
    assert decision.supersessions[0].key is FunctionalKey.OBJECT


def test_move_supersedes_the_old_city_via_the_alias() -> None:
    berlin = fact("berlin", "ana", "live in", "berlin", valid=dt(2021))
    lisbon = fact("lisbon", "ana", "move to", "lisbon", valid=dt(2023))
    [s] = decide_supersessions([berlin, lisbon], RULES).supersessions
    assert (s.newer_id, s.older_id, s.invalid_at) == ("lisbon", "berlin", dt(2023))


def test_observed_at_is_the_fallback_time() -> None:
    old = fact("old", "ana", "live in", "berlin", observed=dt(2021, 4))
    new = fact("new", "ana", "live in", "lisbon", observed=dt(2023, 6))
    dated = fact("dated", "ana", "live in", "porto", valid=dt(2022), observed=dt(2024))
    pairs = {
        (s.older_id, s.newer_id)
        for s in decide_supersessions([old, new, dated], RULES).supersessions
    }
    assert pairs == {("old", "dated"), ("dated", "new")}


def test_restatement_never_supersedes_and_a_change_in_between_does() -> None:
    b1 = fact("b1", "ana", "live in", "berlin", valid=dt(2020))
    b2 = fact("b2", "ana", "live in", "berlin", observed=dt(2021))
    lis = fact("lis", "ana", "live in", "lisbon", valid=dt(2022))
    b3 = fact("b3", "ana", "live in", "berlin", observed=dt(2024))
    decision = decide_supersessions([b1, b2, lis, b3], RULES)
    assert {(s.older_id, s.newer_id) for s in decision.supersessions} == {
        ("b1", "lis"),
        ("b2", "lis"),
        ("lis", "b3"),
    }
    only_berlin = decide_supersessions([b1, b2], RULES)
    assert only_berlin.supersessions == ()


def test_arrival_order_does_not_matter() -> None:
    facts = [
        fact("a", "ana", "live in", "berlin", valid=dt(2021)),
        fact("b", "ana", "move to", "porto", valid=dt(2022)),
        fact("c", "ana", "live in", "lisbon", observed=dt(2023)),
        fact("d", "x", "be cto of", "acme", valid=dt(2019)),
        fact("e", "y", "be cto of", "acme", valid=dt(2020)),
    ]
    results = {decide_supersessions(list(p), RULES) for p in itertools.permutations(facts)}
    assert len(results) == 1


def test_accumulating_predicates_do_not_conflict() -> None:
    paris = fact("paris", "ana", "visit", "paris", valid=dt(2020))
    rome = fact("rome", "ana", "visit", "rome", valid=dt(2021))
    assert decide_supersessions([paris, rome], RULES).supersessions == ()
    assert current_value_conflicts([paris, rome], RULES, [], dt(2025)) == []


def test_only_facts_sharing_the_key_endpoint_are_compared() -> None:
    ana = fact("ana", "ana", "live in", "berlin", valid=dt(2020))
    bob = fact("bob", "bob", "live in", "lisbon", valid=dt(2022))
    # Same object, but "live in" is keyed by the subject: no conflict.
    cleo = fact("cleo", "cleo", "live in", "berlin", valid=dt(2023))
    assert decide_supersessions([ana, bob, cleo], RULES).supersessions == ()


def test_same_time_different_value_is_ambiguous_and_undated_facts_are_left_alone() -> None:
    a = fact("a", "ana", "live in", "berlin", valid=dt(2021))
    b = fact("b", "ana", "live in", "porto", valid=dt(2021))
    c = fact("c", "ana", "live in", "rome")
    decision = decide_supersessions([a, b, c], RULES)
    assert decision.supersessions == ()
    assert decision.ambiguous == (("a", "b"),)
    assert decision.undated == ("c",)
    conflicts = current_value_conflicts([a, b], RULES, [], dt(2025))
    assert conflicts == [("live in", "ana", ("a", "b"))]


def test_current_value_conflicts_ignores_superseded_and_stated_ends() -> None:
    a = fact("a", "ana", "live in", "berlin", valid=dt(2021), invalid=dt(2022))
    b = fact("b", "ana", "live in", "porto", valid=dt(2022))
    c = fact("c", "ana", "live in", "rome", valid=dt(2023))
    assert current_value_conflicts([a, b, c], RULES, ["b"], dt(2025)) == []
    assert current_value_conflicts([a, b, c], RULES, [], dt(2025)) == [
        ("live in", "ana", ("b", "c"))
    ]


# --- entity names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Halvard Robotics", "Halvard Robotics Inc.", True),
        ("Halvard", "Halvard Robotics", True),
        ("the drones", "Drone", True),
        ("Ana Lima", "Ana Limas", True),
        ("Berlin", "Copenhagen", False),
        ("Hal", "Halvard Robotics", False),  # not a whole word
        ("board of the Kaveri Institute", "Kaveri Institute", False),
        ("Before Oriel Aeronautics", "Oriel Aeronautics", False),
        ("", "Berlin", False),
    ],
)
def test_name_evidence(a: str, b: str, same: bool) -> None:
    assert names_match(a, b) is same


# --- decay and archiving ----------------------------------------------------------------------


def test_memory_strength_follows_the_forgetting_curve() -> None:
    config = DecayConfig(tau_days=10.0, mention_weight=1.0, retrieval_weight=2.0)
    assert memory_strength(0, 1, 0, config) == 1.0
    assert memory_strength(10, 1, 0, config) == pytest.approx(math.exp(-1))
    # Three sources and one retrieval: S = 1 + 2 + 2 = 5, so the curve is five times slower.
    assert memory_strength(50, 3, 1, config) == pytest.approx(math.exp(-1))
    ages = [memory_strength(d, 1, 0, config) for d in (0, 5, 10, 50)]
    assert ages == sorted(ages, reverse=True)
    with pytest.raises(ValueError):
        DecayConfig(tau_days=0)


def test_age_is_measured_from_learning_or_last_recall() -> None:
    now = dt(2025)
    item = MemoryItem(
        "f", "fact", learned_at=dt(2024), observed_at=dt(2015), last_accessed_at=dt(2024, 12, 1)
    )
    ingested = DecayConfig(tau_days=31)
    assert item.strength(now, ingested) == pytest.approx(math.exp(-31 / 31))
    observed = DecayConfig(tau_days=31, age_basis=AgeBasis.OBSERVED)
    # Observed in 2015, but recalled on 1 December 2024: the recall counts.
    assert item.strength(now, observed) == pytest.approx(math.exp(-1))
    never = MemoryItem("g", "fact", learned_at=dt(2024), observed_at=dt(2015))
    assert never.strength(now, observed) < never.strength(now, ingested)


def test_archive_decisions() -> None:
    decay = DecayConfig(tau_days=10, archive_threshold=0.1)
    keep_all = RetentionPolicy()
    now = dt(2025)
    old = now - timedelta(days=100)
    weak = MemoryItem("weak", "fact", learned_at=old)
    strong = MemoryItem("strong", "fact", learned_at=now - timedelta(days=1))
    current = MemoryItem("current", "fact", learned_at=old, protected=True)
    assert archive_action(weak, now, decay, keep_all) is ArchiveAction.ARCHIVE
    assert archive_action(strong, now, decay, keep_all) is ArchiveAction.KEEP
    assert archive_action(current, now, decay, keep_all) is ArchiveAction.KEEP
    forget_current = RetentionPolicy(archive_current_values=True)
    assert archive_action(current, now, decay, forget_current) is ArchiveAction.ARCHIVE
    # Reinforced enough (ten sources), the same age is kept.
    many = MemoryItem("many", "fact", mentions=10, learned_at=old)
    assert archive_action(many, now, decay, keep_all) is ArchiveAction.KEEP


def test_retention_policy_decides_hard_deletion() -> None:
    decay = DecayConfig(tau_days=10, archive_threshold=0.1)
    now = dt(2025)
    archived = MemoryItem(
        "a", "fact", learned_at=now - timedelta(days=400), archived_at=now - timedelta(days=200)
    )
    assert archive_action(archived, now, decay, RetentionPolicy()) is ArchiveAction.KEEP
    policy = RetentionPolicy(delete_archived_after_days=180)
    assert archive_action(archived, now, decay, policy) is ArchiveAction.DELETE
    recent = MemoryItem(
        "b", "fact", learned_at=now - timedelta(days=400), archived_at=now - timedelta(days=10)
    )
    assert archive_action(recent, now, decay, policy) is ArchiveAction.KEEP
    # Recalled since it was archived: restored.
    recalled = MemoryItem(
        "c",
        "fact",
        learned_at=now - timedelta(days=400),
        archived_at=now - timedelta(days=200),
        last_accessed_at=now - timedelta(days=1),
    )
    assert archive_action(recalled, now, decay, policy) is ArchiveAction.RESTORE


def test_a_passage_is_not_deleted_while_a_fact_it_states_is_live() -> None:
    decay = DecayConfig(tau_days=10, archive_threshold=0.1)
    policy = RetentionPolicy(delete_archived_after_days=30)
    now = dt(2025)
    long_ago = now - timedelta(days=400)
    items = [
        MemoryItem("p1", "passage", learned_at=long_ago, archived_at=long_ago, supports=("f1",)),
        MemoryItem("p2", "passage", learned_at=long_ago, archived_at=long_ago, supports=("f2",)),
        MemoryItem("f1", "fact", learned_at=now),  # live
        MemoryItem("f2", "fact", learned_at=long_ago, archived_at=long_ago),
    ]
    plan = plan_forgetting(items, now, decay, policy)
    assert plan.delete == {"fact": ("f2",), "passage": ("p2",)}
    assert plan.archive == {} and plan.restore == {}


# --- predicate variants: roles, first and former holders --------------------------------------


@pytest.mark.parametrize(
    ("predicate", "canonical", "phase"),
    [
        ("be first cto of", "be cto of", Phase.FIRST),
        ("Be the founding Chief Technology Officer at", "be cto of", Phase.FIRST),
        ("be new ceo of", "be ceo of", Phase.PLAIN),
        ("be interim ceo of", "be ceo of", Phase.PLAIN),
        ("be acting chief executive of", "be ceo of", Phase.PLAIN),
        ("be current president of", "be president of", Phase.PLAIN),
        ("be then ceo of", "be ceo of", Phase.PLAIN),
        ("be second ceo of", "be ceo of", Phase.PLAIN),
        ("remain cto of", "be cto of", Phase.PLAIN),
        ("become chief operating officer of", "be coo of", Phase.PLAIN),
        ("be named ceo of", "be ceo of", Phase.PLAIN),
        ("be appointed chief technology officer of", "be cto of", Phase.PLAIN),
        ("serve as cto of", "be cto of", Phase.PLAIN),
        ("be cto at", "be cto of", Phase.PLAIN),
        ("be former cto of", "be cto of", Phase.FORMER),
        ("be ex-cto of", "be cto of", Phase.FORMER),
        ("be previous chief financial officer of", "be cfo of", Phase.FORMER),
        ("be head of sales at", "be head of sales at", Phase.PLAIN),
        ("be vice president of engineering at", "be vice president of engineering at", Phase.PLAIN),
        # Not roles: modifiers change the relation, so the predicate stays as it is.
        ("be first customer of", "be first customer of", Phase.PLAIN),
        ("be new office of", "be new office of", Phase.PLAIN),
        ("be named after", "be named after", Phase.PLAIN),
        ("live in", "live in", Phase.PLAIN),
    ],
)
def test_role_predicates_have_one_form(predicate: str, canonical: str, phase: Phase) -> None:
    assert predicate_form(predicate) == PredicateForm(canonical, phase)


def test_role_variants_share_a_group_and_a_key() -> None:
    rules = build_predicate_rules(
        ["be first cto of", "be chief operating officer of", "be coo of", "be former ceo of"]
    )
    assert rules.canonical("be first cto of") == "be cto of"
    assert rules.keys("be first cto of") == {FunctionalKey.OBJECT}
    assert rules.keys("become chief operating officer of") == {FunctionalKey.OBJECT}
    assert rules.canonical("be chief operating officer of") == rules.canonical("be coo of")
    assert rules.phase("be former ceo of") is Phase.FORMER


CTO_CHAIN = [
    fact("lena", "lena", "be first cto of", "halvard"),  # undated: the first holder
    fact("priya", "priya", "become cto of", "halvard", valid=dt(2019, 3, 5)),
    fact("priya-named", "priya", "be named cto of", "halvard", observed=dt(2019, 3, 6)),
    fact("priya-undated", "priya", "be cto of", "halvard"),
    fact("daniel", "daniel", "become cto of", "halvard", valid=dt(2022, 7)),
    fact("daniel-remains", "daniel", "remain cto of", "halvard", observed=dt(2024, 3, 12)),
]


def test_first_holder_and_undated_restatement_are_placed() -> None:
    decision = decide_supersessions(CTO_CHAIN, RULES)
    pairs = {(s.older_id, s.newer_id, s.invalid_at) for s in decision.supersessions}
    assert pairs == {
        ("lena", "priya", dt(2019, 3, 5)),
        ("priya", "daniel", dt(2022, 7)),
        ("priya-named", "daniel", dt(2022, 7)),
        ("priya-undated", "daniel", dt(2022, 7)),  # shares the fate of Priya's latest dated fact
    }
    assert decision.undated == () and decision.ambiguous == ()
    gone = [s.older_id for s in decision.supersessions]
    assert current_value_conflicts(CTO_CHAIN, RULES, gone, dt(2025)) == []
    orders = (CTO_CHAIN[::-1], CTO_CHAIN[3:] + CTO_CHAIN[:3], CTO_CHAIN[1::2] + CTO_CHAIN[::2])
    results = {decide_supersessions(order, RULES) for order in (CTO_CHAIN, *orders)}
    assert len(results) == 1


def test_a_former_holder_never_supersedes_and_is_never_current() -> None:
    bo = fact("bo", "bo", "be ceo of", "acme", valid=dt(2020))
    ana_was = fact("ana-was", "ana", "be former ceo of", "acme", observed=dt(2022))
    ana_left = fact(
        "ana-left", "ana", "be ceo of", "acme", valid=dt(2023), invalid=dt(2023)
    )  # "stepped down" with the date: ended when it started
    decision = decide_supersessions([bo, ana_was, ana_left], RULES)
    assert decision.supersessions == () and decision.ambiguous == ()
    assert current_value_conflicts([bo, ana_was, ana_left], RULES, [], dt(2025)) == []


def test_an_undated_first_holder_alone_and_two_first_holders() -> None:
    lena = fact("lena", "lena", "be first cto of", "halvard")
    assert decide_supersessions([lena], RULES) == decide_supersessions([], RULES)
    other = fact("other", "other", "be first cto of", "halvard")
    assert decide_supersessions([lena, other], RULES).ambiguous == (("lena", "other"),)
