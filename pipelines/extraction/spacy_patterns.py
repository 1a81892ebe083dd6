"""Dependency-parse patterns: one parsed spaCy sentence in, (subject, predicate, object) out.

Pure functions over spaCy tokens; :mod:`pipelines.extraction.spacy_extractor` runs the model and
turns the :class:`RawTriple` records into :class:`~pipelines.models.Fact` records.

Conventions
-----------
Predicates are lower case, built from lemmas, so that tense and number do not split one
relation into several:

- active verb: lemma plus particle, plus the preposition for a prepositional object
  (``"joined"`` -> ``join``, ``"grew up in"`` -> ``grow up in``, ``"moved to"`` -> ``move to``);
  a negation is kept (``not join``); a controlled verb keeps its governor
  (``"decided to leave"`` -> ``decide to leave``).
- copula and other linking verbs: ``be`` / ``become``, plus the attribute when it has an
  object (``"X is the CEO of Y"`` -> ``(X, be CEO of, Y)``; ``"X is a journal"`` ->
  ``(X, be, journal)``). An apposition is a copula: ``"Ana Lima, the CTO of Acme"`` ->
  ``(Ana Lima, be CTO of, Acme)``.
- passive with an agent is turned into the active voice, so that both voices give the same
  fact: ``"Acme was founded by Ana"`` -> ``(Ana, found, Acme)``. A passive without an agent keeps
  ``be`` plus the participle: ``"X was born in Lisbon"`` -> ``(X, be born in, Lisbon)``.
- a role taken, held or left through ``as <role>`` reads as the role over its organisation:
  ``"Acme named Ana as its CTO"``, ``"Ana joined Acme as CTO"``, ``"Ana was appointed as CTO of
  Acme"`` -> ``(Ana, become CTO of, Acme)``; ``"Ana serves as CTO of Acme"`` -> ``(Ana, be CTO
  of, Acme)``; ``"Bo succeeded Ana as CTO of Acme"`` also gives ``(Ana, be former CTO of,
  Acme)``; ``"Ana stepped down as CTO of Acme"`` -> ``(Ana, be former CTO of, Acme)``. Only a
  unique position is a role (``"as CTO"``, ``"as its CTO"``, never ``"as a software
  engineer"``), and its organisation must be written or be the appointing subject or the joined
  object. ``"I started a new job at Acme"`` -> ``(I, work at, Acme)``.
- a relation the sentence puts in the past is marked :attr:`RawTriple.ended`: a former holder
  (``"the former CTO"``, ``"the ex-CTO"``, ``"was previously the CTO"``, ``"is no longer the
  CTO"``, all ``be former CTO of``), a role left, ``"used to live in"`` (``live in``).

Arguments are entity names (compounds and adjectives kept, determiners and possessive pronouns
dropped, a named entity span preferred, ``"University of Copenhagen"`` and ``"city of Toronto"``
kept whole). Numbers, dates, money, percentages and generic nouns (:data:`LIGHT_NOUNS`) are not
arguments: a triple whose object would be one is not produced (dates become the fact's time,
see the extractor). Subjects that are relative pronouns take the noun they modify, and a clause
on the attribute of a copula is about the copula's subject (``"X is a film directed by Y"`` ->
``(Y, direct, X)``). ``he``/``she`` take the last PERSON entity that was a subject earlier in
the passage (lower confidence); in a conversation passage (every line a ``Speaker: text`` turn,
:func:`speaker_turns`) ``I``/``me`` take the speaker of the turn; any other pronoun subject
drops the triple. ``its``/``their``
before an attribute takes the nearest preceding proper-noun object of the sentence
(``"joined Acme and became its CTO"`` -> ``(…, become CTO of, Acme)``). Material in brackets is
kept apart: a bracketed clause needs a bracketed subject, and an argument inside brackets does
not pair with a verb outside them.

Every triple carries an atomic statement: one short sentence with the subject carried in, the
verb group in its original tense, the object phrase, and the clause's date phrase
(``"In 2019 Ana Lima joined Acme and became its CTO."`` -> ``"Ana Lima joined Acme in 2019."``
and ``"Ana Lima became CTO of Acme."``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from spacy.tokens import Span, Token

__all__ = [
    "LIGHT_NOUNS",
    "NON_ENTITY_LABELS",
    "DateMention",
    "Pattern",
    "RawTriple",
    "clean_name",
    "entity_name",
    "SPEAKERS",
    "sentence_dates",
    "sentence_triples",
    "speaker_turns",
]

NON_ENTITY_LABELS = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)
"""spaCy NER labels that are values, not graph entities."""

LIGHT_NOUNS = frozenset(
    {
        "time",
        "example",
        "order",
        "part",
        "way",
        "lot",
        "number",
        "kind",
        "type",
        "addition",
        "fact",
        "case",
        "result",
        "term",
        "instance",
        "total",
        "use",
        "thing",
    }
)
"""Nouns too generic to be graph entities (``"at the time"``, ``"in order to"``)."""


class Pattern(StrEnum):
    ACTIVE = "active"
    PASSIVE = "passive"
    PREPOSITION = "preposition"
    COPULA = "copula"
    APPOSITION = "apposition"
    ROLE = "role"


PATTERN_CONFIDENCE: dict[Pattern, float] = {
    Pattern.ACTIVE: 0.9,
    Pattern.PASSIVE: 0.85,
    Pattern.COPULA: 0.85,
    Pattern.PREPOSITION: 0.75,
    Pattern.APPOSITION: 0.75,
    Pattern.ROLE: 0.8,
}
_INHERITED = 0.9  # subject taken from a governing or coordinated clause
_PRONOUN = 0.7  # subject resolved from he/she
_SPEAKER = 0.9  # subject resolved from I/me to the speaker of the turn

SPEAKERS = "hippograph_speakers"
"""``Doc.user_data`` key: the passage's turns as ``(start offset, speaker)`` pairs, set by the
extractor for conversation passages (see :func:`speaker_turns`)."""

_CLAUSE_DEPS = frozenset({"ROOT", "conj", "relcl", "acl", "advcl", "xcomp", "ccomp"})
_INHERITING_DEPS = frozenset({"conj", "xcomp", "advcl"})
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
_LEFT_MODIFIERS = frozenset({"compound", "amod", "nmod", "poss"})
_RIGHT_MODIFIERS = frozenset({"compound", "flat"})
_DROPPED_EVERYWHERE = frozenset({"relcl", "acl", "appos", "advcl", "parataxis", "punct"})
_DROPPED_AT_TOP = frozenset({"conj", "cc", "preconj"})
_RELATIVE = frozenset({"who", "whom", "which", "that"})
_PERSONAL = frozenset({"he", "she", "him"})
_FIRST_PERSON = frozenset({"i", "me", "myself"})
_TURN = re.compile(r"[ \t]*(?P<speaker>[^\W\d_][\w .'’-]{0,39}?)[ \t]*:[ \t]+\S")
_JOB_NOUNS = frozenset({"job", "position", "role", "post", "internship", "gig", "career"})
_JOB_TAKING = frozenset(
    {"start", "begin", "get", "land", "accept", "take", "have", "find", "secure", "hold", "keep"}
)
_JOB_LEAVING = frozenset({"quit", "leave", "lose"})
_NONPERSONAL_POSSESSIVE = frozenset({"its", "their"})
_NAME_POS = frozenset({"NOUN", "PROPN"})
_DATE_LABELS = frozenset({"DATE", "TIME"})
_OPENERS = frozenset({"(", "["})
_CLOSERS = frozenset({")", "]"})
_ENCLOSING = re.compile(r"``|''|[()\[\]\"“”]")
_QUOTE_CHARS = frozenset("\"'`“”‘’")
_YEAR_TOKEN = re.compile(r"1[0-9]{3}|20[0-9]{2}")
_TEMPORAL_PREPOSITIONS = frozenset(
    {"in", "from", "since", "until", "till", "to", "during", "before", "after", "by", "circa"}
)
_FORMER_WORDS = frozenset({"former", "ex", "previous", "past", "erstwhile", "onetime"})
_ENDED_ADVERBS = frozenset({"previously", "formerly"})
_FIRST_PERSON_VERB = re.compile(r"^(?:am|'m|’m|'ve|’ve)(?=\s|$)", re.IGNORECASE)
_THIRD_PERSON = {"am": "is", "'m": "is", "’m": "is", "'ve": "have", "’ve": "have"}
_SPACE = re.compile(r"\s+")
_QUOTES = re.compile(r"[\"“”]")
_POSSESSIVE_END = re.compile(r"\s*['’]s$")


@dataclass(frozen=True)
class Argument:
    """A subject or object: its head token, its entity name and its statement wording."""

    token: Token
    name: str
    wording: str
    factor: float = 1.0


@dataclass(frozen=True)
class RawTriple:
    """A triple read off the parse, before it becomes a :class:`~pipelines.models.Fact`."""

    subject: str
    predicate: str
    object: str
    statement: str
    pattern: Pattern
    confidence: float
    clause: int  # index of the clause's head token, for dates
    subject_at: int  # index of the subject's head token
    object_at: int  # index of the object's head token
    ended: bool = False
    """The sentence says the relation no longer holds ("the former CTO", "stepped down as")."""


@dataclass(frozen=True)
class DateMention:
    """A date entity of a sentence: its wording with the preposition before it (``"in 2019"``)
    and the index of the verb it modifies directly (``None`` when it modifies a noun)."""

    phrase: str
    text: str
    anchor: int | None


# --- public helpers -------------------------------------------------------------------------


def sentence_triples(sent: Span) -> list[RawTriple]:
    """All triples of one sentence: verb clauses and appositions."""
    triples: list[RawTriple] = []
    for token in sent:
        if _is_clause_head(token):
            triples.extend(_clause_triples(token))
        elif token.dep_ == "appos":
            triples.extend(_apposition_triples(token))
    return [t for t in triples if _outside_brackets(t, sent)]


def _outside_brackets(triple: RawTriple, sent: Span) -> bool:
    """Keep a triple only if its arguments are not bracketed apart from its verb:
    ``"The crisis started in Thailand (Thai: ...)"`` must not make ``Thai`` a subject.
    Appositions are exempt: ``"Hugo (a friend of Ola)"`` is a bracketed description."""
    if triple.pattern is Pattern.APPOSITION:
        return True
    doc = sent.doc
    clause = _brackets(doc[triple.clause])
    subject, obj = _brackets(doc[triple.subject_at]), _brackets(doc[triple.object_at])
    subject_ok = subject == clause or _sentence_start(doc[triple.subject_at]) != sent.start
    return subject_ok and obj == clause


def _clause_head(token: Token) -> Token:
    """The verb heading the clause ``token`` belongs to (the sentence root at worst)."""
    current = token
    while not _is_clause_head(current) and current.head.i != current.i:
        current = current.head
    return current


def sentence_dates(sent: Span) -> list[DateMention]:
    """The dates of a sentence outside brackets and quotes, in order.

    Dates are spaCy's DATE/TIME entities plus bare years after a temporal preposition that NER
    missed (``"from 1900 to 1920"``). Bracketed dates (``"Ana Lima (born 3 March 1980) is
    ..."``) describe something else than the clause around them, so they are left out.
    """
    spans = [e for e in sent.ents if e.label_ in _DATE_LABELS]
    spans += [sent.doc[t.i : t.i + 1] for t in sent if _is_bare_year(t)]
    spans.sort(key=lambda span: span.start)
    return [
        DateMention(_date_phrase(span), span.text, _date_anchor(span))
        for span in spans
        if not _enclosure(span[0])
    ]


def _is_bare_year(token: Token) -> bool:
    """``1900`` in ``"from 1900"``: a year-like number outside any entity, after a temporal
    preposition."""
    return (
        token.ent_iob_ == "O"
        and _YEAR_TOKEN.fullmatch(token.text) is not None
        and token.dep_ == "pobj"
        and token.head.lower_ in _TEMPORAL_PREPOSITIONS
    )


def _date_phrase(ent: Span) -> str:
    """A date entity with the preposition before it: ``"in 2 days"``, ``"on March 3, 2019"``.

    The preposition is taken from the surface (the token just before the entity), not from the
    parse, which often attaches ``"In 2019 X ..."`` oddly.
    """
    text = _lower_initial(ent[0], ent.text)
    before = ent.doc[ent.start - 1] if not ent[0].is_sent_start else None
    if before is not None and before.pos_ == "ADP":
        return f"{before.lower_} {text}"
    return text


def _date_anchor(ent: Span) -> int | None:
    """The verb a date modifies directly, through a preposition, or after a preposition that
    the verb governs (``"In 2019 Ana joined"`` where the parser hangs 2019 on Ana)."""
    root = ent.root
    candidates = [root.head]
    if root.head.dep_ == "prep":
        candidates.append(root.head.head)
    before = ent.doc[ent.start - 1] if not ent[0].is_sent_start else None
    if before is not None and before.dep_ == "prep":
        candidates.append(before.head)
    for candidate in candidates:
        if candidate.i != root.i and _is_clause_head(candidate):
            return candidate.i
    return None


def entity_name(token: Token) -> str | None:
    """The entity name headed by ``token``, or ``None`` if it is not entity-like."""
    if token.pos_ not in _NAME_POS or token.ent_type_ in NON_ENTITY_LABELS or token.like_num:
        return None
    if (token.is_stop or token.lemma_.lower() in LIGHT_NOUNS) and token.pos_ != "PROPN":
        return None
    ent = _entity_span(token)
    start, end = _modifier_bounds(token)
    if ent is not None:
        start, end = min(start, ent.start), max(end, ent.end)
    name = clean_name(_render(_trim(token.doc[start:end], token)))
    return name or None


def clean_name(text: str) -> str:
    """An entity name without double quotes, markup bullets or a trailing possessive ``'s``."""
    text = _QUOTES.sub("", text)
    text = _POSSESSIVE_END.sub("", text)
    return _SPACE.sub(" ", text).strip(" ,;:#*>•")


# --- clauses --------------------------------------------------------------------------------


def _is_clause_head(token: Token) -> bool:
    if token.pos_ not in ("VERB", "AUX") or token.dep_ not in _CLAUSE_DEPS:
        return False
    return token.dep_ != "conj" or token.head.pos_ in ("VERB", "AUX")


def _clause_triples(verb: Token) -> list[RawTriple]:
    enclosure = _enclosure(verb)
    subjects = [s for s in _subjects(verb) if not enclosure or _enclosure(s.token) == enclosure]
    if not subjects:
        return []  # no subject, or a bracketed/quoted clause whose subject is outside it
    passive = _is_passive(verb)
    triples: list[RawTriple] = []
    for child in verb.children:
        if child.dep_ == "dobj" and not passive:
            triples.extend(_object_triples(verb, subjects, child))
        elif child.dep_ in ("attr", "oprd"):
            triples.extend(_attribute_triples(verb, subjects, child, passive))
        elif child.dep_ == "prep" and (job := _job_triples(verb, subjects, child)) is not None:
            triples.extend(job)
        elif child.dep_ == "prep":
            role = _role_triples(verb, subjects, child, passive)
            triples.extend(
                role if role is not None else _prep_triples(verb, subjects, child, passive)
            )
        elif child.dep_ == "agent" and passive:
            triples.extend(_agent_triples(verb, subjects, child))
        elif child.dep_ == "acomp":
            for prep in (c for c in child.children if c.dep_ == "prep"):
                triples.extend(_prep_triples(verb, subjects, prep, passive, middle=child))
    if _says_ended(verb):
        triples = [replace(t, ended=True) for t in triples]
    return triples


def _job_triples(verb: Token, subjects: list[Argument], prep: Token) -> list[RawTriple] | None:
    """``"I started a new job at Acme"`` -> ``(I, work at, Acme)``; ``"X lost his job at
    Acme"`` -> the same, marked ended. ``None`` when the clause is not about a job."""
    lemma = verb.lemma_.lower()
    if lemma not in _JOB_TAKING and lemma not in _JOB_LEAVING:
        return None
    job = next((c for c in verb.children if c.dep_ == "dobj"), None)
    if job is None or job.lemma_.lower() not in _JOB_NOUNS or prep.lower_ not in ("at", "with"):
        return None
    pobj = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if pobj is None or pobj.pos_ != "PROPN":
        return None
    ended = lemma in _JOB_LEAVING
    triples = []
    for subject in subjects:
        for target in _arguments(pobj):
            tail = f"{_wording(job)} {prep.lower_} {target.wording}"
            statement = _statement(verb, subject.wording, _verb_group(verb), tail)
            triples.append(
                _triple(subject, "work at", target, statement, Pattern.ACTIVE, verb.i, ended=ended)
            )
    return triples


def _says_ended(verb: Token) -> bool:
    """``"X was previously ..."``, ``"X formerly lived ..."``, ``"X is no longer ..."``,
    ``"X used to live ..."``."""
    return _used_to(verb) or _ended_adverb(verb) is not None


def _ended_adverb(verb: Token) -> str | None:
    """The adverb saying a clause no longer holds (``previously``, ``no longer``), if any."""
    for child in verb.children:
        if child.dep_ != "advmod":
            continue
        if child.lower_ in _ENDED_ADVERBS:
            return child.text
        if child.lower_ == "longer" and any(c.lower_ == "no" for c in child.children):
            return "no longer"
    return None


def _subjects(verb: Token) -> list[Argument]:
    """Subjects of a clause, with conjuncts; inherited from the governing clause if absent."""
    direct = [c for c in verb.children if c.dep_ in _SUBJECT_DEPS]
    if direct:
        return _arguments(direct[0])
    if verb.dep_ in _INHERITING_DEPS and verb.head.i != verb.i:
        return [_weaken(a, _INHERITED) for a in _subjects(verb.head)]
    if verb.dep_ == "relcl" or (verb.dep_ == "acl" and verb.tag_ in ("VBN", "VBG")):
        return [_weaken(a, _INHERITED) for a in _arguments(_referent(verb.head))]
    return []


def _referent(noun: Token) -> Token:
    """What a modified noun stands for: ``"X is a film directed by Y"`` is about ``X``.

    A relative or participle clause on the attribute of a copula describes the copula's subject.
    """
    first = noun
    while first.dep_ == "conj" and first.head.i != first.i:
        first = first.head  # "a restaurant chain and franchise based in ..."
    if first.dep_ == "attr" and first.head.pos_ in ("AUX", "VERB"):
        subject = next((c for c in first.head.children if c.dep_ in _SUBJECT_DEPS), None)
        if subject is not None:
            return subject
    return noun


def _is_passive(verb: Token) -> bool:
    if any(c.dep_ in ("auxpass", "nsubjpass") for c in verb.children):
        return True
    return _is_reduced_passive(verb)


def _is_reduced_passive(verb: Token) -> bool:
    """A participle without auxiliary: ``"a film directed by Y"``, ``"Situated in X, ..."``."""
    has_aux = any(c.dep_ in ("aux", "auxpass") for c in verb.children)
    return verb.dep_ in ("acl", "advcl") and verb.tag_ == "VBN" and not has_aux


def _object_triples(verb: Token, subjects: list[Argument], obj: Token) -> list[RawTriple]:
    predicate = _stem(verb)
    triples = []
    for subject in subjects:
        for target in _arguments(obj):
            statement = _statement(verb, subject.wording, _verb_group(verb), target.wording)
            triples.append(_triple(subject, predicate, target, statement, Pattern.ACTIVE, verb.i))
    return triples


def _prep_triples(
    verb: Token,
    subjects: list[Argument],
    prep: Token,
    passive: bool,
    middle: Token | None = None,
) -> list[RawTriple]:
    """``"X moved to Berlin"`` -> ``(X, move to, Berlin)``; ``middle`` is an adjective
    complement (``"X is famous for Y"`` -> ``(X, be famous for, Y)``)."""
    pobj = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if pobj is None:
        return []
    stem = f"be {verb.lower_}{_particle(verb)}" if passive else _stem(verb)
    words = [stem, middle.lower_ if middle is not None else "", prep.lower_]
    predicate = " ".join(w for w in words if w)
    dobj = next((c for c in verb.children if c.dep_ == "dobj"), None)
    between = [_wording(dobj) if dobj is not None else "", middle.text if middle else ""]

    triples = []
    for subject in subjects:
        for target in _arguments(pobj):
            words = [*between, _lower_initial(prep, prep.text), target.wording]
            tail = " ".join(w for w in words if w)
            statement = _statement(verb, subject.wording, _verb_group(verb), tail)
            triples.append(
                _triple(subject, predicate, target, statement, Pattern.PREPOSITION, verb.i)
            )
    return triples


def _agent_triples(verb: Token, patients: list[Argument], agent: Token) -> list[RawTriple]:
    """``"Acme was founded by Ana"`` -> ``(Ana, found, Acme)`` (active voice)."""
    pobj = next((c for c in agent.children if c.dep_ == "pobj"), None)
    if pobj is None:
        return []
    predicate = _stem(verb)
    triples = []
    for patient in patients:
        for doer in _arguments(pobj):
            tail = f"{agent.text} {doer.wording}"
            statement = _statement(verb, patient.wording, _verb_group(verb), tail)
            triples.append(_triple(doer, predicate, patient, statement, Pattern.PASSIVE, verb.i))
    return triples


class _RoleVerb(StrEnum):
    """How a verb with ``"as <role>"`` relates its arguments to the role."""

    APPOINT = "appoint"  # "Acme named X as its CTO": the object takes the subject's role
    JOIN = "join"  # "X joined Acme as CTO": the subject takes the role at the object
    HOLD = "hold"  # "X serves as CTO of Acme": the subject holds the role
    REMAIN = "remain"  # "X remains as CTO of Acme"
    SUCCEED = "succeed"  # "X succeeded Y as CTO of Acme": X takes it, Y held it before
    LEAVE = "leave"  # "X stepped down as CTO of Acme": X held it until then


_ROLE_VERBS: dict[str, _RoleVerb] = {
    **dict.fromkeys(
        (
            "name",
            "appoint",
            "reappoint",
            "hire",
            "elect",
            "reelect",
            "promote",
            "choose",
            "select",
            "pick",
            "tap",
            "recruit",
            "install",
            "nominate",
            "confirm",
            "designate",
        ),
        _RoleVerb.APPOINT,
    ),
    **dict.fromkeys(("join", "rejoin"), _RoleVerb.JOIN),
    **dict.fromkeys(("serve", "act", "work", "start", "begin", "return"), _RoleVerb.HOLD),
    **dict.fromkeys(("remain", "stay", "continue"), _RoleVerb.REMAIN),
    **dict.fromkeys(("succeed", "replace"), _RoleVerb.SUCCEED),
    **dict.fromkeys(("step", "resign", "retire", "quit", "stand"), _RoleVerb.LEAVE),
}
_ROLE_STEM = {
    _RoleVerb.APPOINT: "become",
    _RoleVerb.JOIN: "become",
    _RoleVerb.HOLD: "be",
    _RoleVerb.REMAIN: "remain",
    _RoleVerb.SUCCEED: "become",
    _RoleVerb.LEAVE: "be former",
}
_NOT_ROLES = frozenset(
    {"PERSON", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LANGUAGE", "LAW"}
)
_INDEFINITE = frozenset({"a", "an", "another", "some", "any", "one"})
_VERB_PARTICLES = frozenset({"down", "up", "out", "back", "aside", "away", "off", "on"})


def _role_triples(
    verb: Token, subjects: list[Argument], prep: Token, passive: bool
) -> list[RawTriple] | None:
    """Roles taken, held or left: ``(holder, become CTO of, organisation)``.

    ``"Acme named Ana as its CTO"`` and ``"Ana was appointed CTO of Acme"`` -> ``(Ana, become
    CTO of, Acme)``; ``"Ana joined Acme as CTO"`` -> the same; ``"Ana serves as CTO of Acme"``
    -> ``(Ana, be CTO of, Acme)``; ``"Bo succeeded Ana as CTO of Acme"`` -> ``(Bo, become CTO
    of, Acme)`` and ``(Ana, be former CTO of, Acme)``; ``"Ana stepped down as CTO of Acme"`` ->
    ``(Ana, be former CTO of, Acme)``. Former holders are marked ended.

    Only a unique position is a role: a bare or definite singular noun (``"as CTO"``, ``"as
    its CTO"``), never ``"as a software engineer"``. The organisation must be written (``"CTO
    of Acme"``, ``"Acme's CTO"``) or be the appointing subject or the joined object, and a
    named one when implicit. Returns ``None`` when the phrase is not such a role, so that the
    ordinary preposition triple is kept.
    """
    kind = _ROLE_VERBS.get(verb.lemma_.lower())
    wanted = ("as", "to") if kind is _RoleVerb.APPOINT else ("as",)
    if kind is None or prep.lower_ not in wanted:
        return None
    role = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if role is None or not _is_unique_role(role):
        return None
    dobj = next((c for c in verb.children if c.dep_ == "dobj"), None)
    holders, implicit = subjects, []
    if kind is _RoleVerb.APPOINT and not passive:
        if dobj is None:
            return None
        holders, implicit = _arguments(dobj), subjects
    elif kind is _RoleVerb.JOIN and dobj is not None:
        implicit = _arguments(dobj)
    owner = _role_owner(role, kind, implicit)
    if owner is None:
        return None
    core = _role_name(role, owner)
    explicit = owner.token.i > role.i or any(
        c.dep_ == "poss" and c.pos_ != "PRON" for c in role.children
    )
    role_words = _wording(role) if explicit else f"{core} of {owner.wording}"
    between = [_wording(dobj)] if dobj is not None and not passive else []
    tail = " ".join([*between, prep.lower_, role_words])
    found: list[tuple[Argument, str, bool]] = [
        (holder, f"{_ROLE_STEM[kind]} {core.lower()} of", kind is _RoleVerb.LEAVE)
        for holder in holders
    ]
    if kind is _RoleVerb.SUCCEED and dobj is not None:
        found += [(p, f"be former {core.lower()} of", True) for p in _arguments(dobj)]
    triples = []
    for holder, predicate, ended in found:
        if holder.name == owner.name:
            continue
        speaker = holder if any(holder is s for s in subjects) else subjects[0]
        statement = _statement(verb, speaker.wording, _verb_words(verb), tail)
        triples.append(
            _triple(holder, predicate, owner, statement, Pattern.ROLE, verb.i, ended=ended)
        )
    return triples


def _is_unique_role(role: Token) -> bool:
    """A bare or definite singular common noun or title: ``CTO``, ``the chief executive``."""
    if role.pos_ not in _NAME_POS or role.tag_ in ("NNS", "NNPS") or role.like_num:
        return False
    if role.ent_type_ in _NOT_ROLES or role.ent_type_ in NON_ENTITY_LABELS:
        return False
    return not any(c.dep_ == "det" and c.lower_ in _INDEFINITE for c in role.children)


def _role_owner(role: Token, kind: _RoleVerb, implicit: list[Argument]) -> Argument | None:
    """The organisation of a role: before it (``Acme's``; ``its``/``their`` for the appointing
    subject or joined object), written after it (the last of/at/for: ``head of sales at
    Acme``), else the appointing subject or joined object when it is a name."""
    poss = next((c for c in role.children if c.dep_ == "poss"), None)
    if poss is not None:
        if poss.lower_ not in _NONPERSONAL_POSSESSIVE:
            return _argument(poss)
        if implicit:
            return implicit[0]
        return _possessive_antecedent(poss) if kind is _RoleVerb.HOLD else None
    written = _role_preps(role)
    if written:
        pobj = next((c for c in written[-1].children if c.dep_ == "pobj"), None)
        return _argument(pobj) if pobj is not None else None
    if implicit and implicit[0].token.pos_ == "PROPN":
        return implicit[0]
    return None


def _role_preps(role: Token) -> list[Token]:
    return [
        c
        for c in role.children
        if c.dep_ == "prep"
        and c.lower_ in ("of", "at", "for")
        and any(g.dep_ == "pobj" for g in c.children)
    ]


def _role_name(role: Token, owner: Argument) -> str:
    """The role's words without its organisation: ``chief operating officer``, ``head of
    engineering`` (from ``"its head of engineering"``)."""
    core = _attribute_core(role)
    rest = [p for p in _role_preps(role) if not any(g.i == owner.token.i for g in p.subtree)]
    return " ".join([core, *(_wording(p) for p in rest)])


def _verb_words(verb: Token) -> str:
    """The verb group with an adverb particle the parser left out: ``stepped down``."""
    group = _verb_group(verb)
    nxt = verb.doc[verb.i + 1] if verb.i + 1 < len(verb.doc) else None
    if nxt is not None and nxt.dep_ == "advmod" and nxt.lower_ in _VERB_PARTICLES:
        return f"{group} {nxt.text}"
    return group


def _attribute_triples(
    verb: Token, subjects: list[Argument], attr: Token, passive: bool
) -> list[RawTriple]:
    """``"X is the CEO of Y"``, ``"X became its CTO"``, ``"X was named president of Y"``.

    ``"X was previously the CEO of Y"`` and ``"X is no longer the CEO of Y"`` read as ``(X, be
    former CEO of, Y)``."""
    stem = f"be {verb.lower_}" if passive else _stem(verb)
    former = _says_ended(verb)
    triples = []
    for subject in subjects:
        for each in (attr, *attr.conjuncts):
            if _is_prefix_piece(each):
                continue
            triple = _describe(subject, each, stem, _verb_group(verb), verb, former=former)
            if triple is not None:
                triples.append(triple)
    return triples


def _is_prefix_piece(token: Token) -> bool:
    """``ex`` and ``-`` of ``"ex-CTO"``, which the parser may split into three attributes."""
    if not any(c.isalpha() for c in token.text):
        return True
    following = token.doc[token.i + 1] if token.i + 1 < len(token.doc) else None
    return following is not None and following.text == "-" and not token.whitespace_


def _is_former(attr: Token) -> bool:
    """``"the former CTO"``, ``"the ex-CTO"``: a past holder."""
    if any(c.dep_ == "amod" and c.lower_ in _FORMER_WORDS for c in attr.lefts):
        return True
    doc = attr.doc
    before = [t.lower_ for t in doc[max(attr.i - 2, 0) : attr.i]]
    return before == ["ex", "-"] or attr.lower_.startswith("ex-")


def _apposition_triples(appos: Token) -> list[RawTriple]:
    """``"Ana Lima, the CTO of Acme, ..."`` -> ``(Ana Lima, be CTO of, Acme)``."""
    head = appos.head
    if _is_description(appos) and head.pos_ == "PROPN":
        named, description = head, appos
    elif _is_description(head) and appos.pos_ == "PROPN":
        named, description = appos, head
    else:
        return []
    name = entity_name(named)
    if name is None:
        return []
    subject = Argument(named, name, name)
    triple = _describe(subject, description, "be", "is", None)
    return [triple] if triple is not None else []


def _is_description(token: Token) -> bool:
    """A common noun, or a noun phrase with an article: ``"the CTO"``, ``"a lawyer"``."""
    return token.pos_ == "NOUN" or any(c.dep_ == "det" for c in token.children)


def _describe(
    subject: Argument,
    attr: Token,
    stem: str,
    verb_group: str,
    verb: Token | None,
    *,
    former: bool = False,
) -> RawTriple | None:
    """A linking-verb triple: ``(X, be CEO of, Y)`` when the attribute has an object, else
    ``(X, be, journal)``. A former holder (``former``, or ``"the former/ex- CEO"``) gives
    ``(X, be former CEO of, Y)``, marked ended."""
    pattern = Pattern.COPULA if verb is not None else Pattern.APPOSITION
    clause = verb.i if verb is not None else _clause_head(attr).i
    target = _attribute_target(attr)
    past = former or _is_former(attr)
    if target is not None:
        prep, obj, explicit = target
        core = _attribute_core(attr)
        words = core.lower().removeprefix("ex-")
        tail = _wording(attr) if explicit else f"{core} {prep} {obj.wording}"
        if past and not _FORMER_WORDS.intersection(words.split()):
            words = f"former {words}"
            adverb = _ended_adverb(verb) if verb is not None else None
            if adverb is not None:
                verb_group = f"{verb_group} {adverb}"
            elif not _FORMER_WORDS.intersection(tail.lower().split()):
                tail = re.sub(r"^(the )?", r"\1former ", tail, count=1)
        predicate = f"{stem} {words} {prep}"
        statement = _statement(verb, subject.wording, verb_group, tail)
        return _triple(subject, predicate, obj, statement, pattern, clause, ended=past)
    described = _argument(attr)
    if described is None:
        return None
    statement = _statement(verb, subject.wording, verb_group, _wording(attr))
    return _triple(subject, stem, described, statement, pattern, clause)


def _attribute_target(attr: Token) -> tuple[str, Argument, bool] | None:
    """The object an attribute is about: ``CEO of Acme``, ``Acme's CEO``, ``its CEO``.

    Returns the preposition, the object and whether the object is written out in the
    attribute's own words (False for a resolved ``its``).
    """
    for child in attr.children:
        if child.dep_ == "prep":
            pobj = next((c for c in child.children if c.dep_ == "pobj"), None)
            target = _argument(pobj) if pobj is not None else None
            if target is not None:
                return child.lower_, target, True
        if child.dep_ == "poss":
            if child.lower_ in _NONPERSONAL_POSSESSIVE:
                antecedent = _possessive_antecedent(child)
                if antecedent is not None:
                    return "of", antecedent, False
            elif (owner := _argument(child)) is not None:
                return "of", owner, False
    return None


def _attribute_core(attr: Token) -> str:
    """The attribute without article, possessive or object: ``"the chief executive"``."""
    start = attr.i
    for child in attr.lefts:
        if child.dep_ in ("compound", "amod"):
            start = min(start, child.left_edge.i)
    return _render(t for t in attr.doc[start : attr.i + 1] if t.dep_ != "poss")


# --- arguments ------------------------------------------------------------------------------


def _arguments(token: Token) -> list[Argument]:
    """The argument headed by ``token`` and those coordinated with it (``"X and Y"``)."""
    found = (_argument(t) for t in (token, *token.conjuncts))
    return [a for a in found if a is not None]


def _argument(token: Token) -> Argument | None:
    if token.lower_ in _RELATIVE and token.tag_ in ("WP", "WDT", "WP$"):
        relative_clause = next((a for a in token.ancestors if a.dep_ == "relcl"), None)
        if relative_clause is None:
            return None
        return _argument(_referent(relative_clause.head))
    if token.pos_ == "PRON":
        return _resolve_person(token)
    named_appos = next((c for c in token.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
    if token.pos_ == "NOUN" and named_appos is not None:
        token = named_appos  # "the CEO of Apple, Tim Cook, visited ..." is about Tim Cook
    name = entity_name(token)
    if name is None:
        return None
    wording = name if token.pos_ == "PROPN" else _wording(token)
    return Argument(token, name, wording)


def _resolve_person(pronoun: Token) -> Argument | None:
    """``he``/``she``/``him``: the last PERSON entity before the pronoun in the passage that was
    itself a subject (the person the text is about, not one mentioned in passing).
    ``I``/``me`` in a conversation: the speaker of the turn (see :func:`speaker_turns`)."""
    if pronoun.lower_ in _FIRST_PERSON:
        return _resolve_speaker(pronoun)
    if pronoun.lower_ not in _PERSONAL:
        return None
    people = [
        e
        for e in pronoun.doc.ents
        if e.label_ == "PERSON" and e.end <= pronoun.i and e.root.dep_ in _SUBJECT_DEPS
    ]
    if not people:
        return None
    name = entity_name(people[-1].root)
    if name is None:
        return None
    return Argument(people[-1].root, name, name, _PRONOUN)


def speaker_turns(text: str) -> tuple[tuple[int, str], ...]:
    """``(start offset, speaker)`` of every line when ``text`` is a conversation passage: every
    non-blank line is a ``Speaker: text`` turn (as conversation sessions are written); ``()``
    for any other text."""
    turns: list[tuple[int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            match = _TURN.match(line)
            if match is None:
                return ()
            turns.append((offset, match["speaker"]))
        offset += len(line)
    return tuple(turns)


def _resolve_speaker(pronoun: Token) -> Argument | None:
    """``I``/``me``: the speaker of the turn the pronoun is in, when the extractor recorded the
    passage's turns in ``doc.user_data[SPEAKERS]`` (conversations only)."""
    turns: tuple[tuple[int, str], ...] = pronoun.doc.user_data.get(SPEAKERS, ())
    speaker = None
    for start, name in turns:
        if start > pronoun.idx:
            break
        speaker = name
    if speaker is None:
        return None
    return Argument(pronoun, speaker, speaker, _SPEAKER)


def _possessive_antecedent(pronoun: Token) -> Argument | None:
    """``its``/``their`` before an attribute: the nearest proper noun before it in the
    sentence that is an object (the clause's subject cannot be its own CTO)."""
    objects = ("dobj", "pobj", "attr", "appos")
    for token in reversed(pronoun.doc[_sentence_start(pronoun) : pronoun.i]):
        if token.pos_ != "PROPN" or token.dep_ == "compound":
            continue
        if token.dep_ in objects or (token.dep_ == "conj" and token.head.dep_ in objects):
            return _argument(token)
    return None


def _weaken(argument: Argument, factor: float) -> Argument:
    return Argument(argument.token, argument.name, argument.wording, argument.factor * factor)


def _entity_span(token: Token) -> Span | None:
    """The named entity containing ``token``, if it lies inside the token's phrase."""
    if token.ent_iob_ == "O" or token.ent_type_ in NON_ENTITY_LABELS:
        return None
    doc = token.doc
    start = token.i
    while doc[start].ent_iob_ == "I" and start > 0:
        start -= 1
    end = token.i + 1
    while end < len(doc) and doc[end].ent_iob_ == "I":
        end += 1
    ent = doc[start:end]
    wh = next((t.i for t in ent if t.tag_ in ("WDT", "WP", "WRB") and t.i > token.i), None)
    if wh is not None:
        ent = doc[start:wh]  # "The Good Place where Eleanor ..."
    inside = token.left_edge.i <= ent.start and ent.end - 1 <= token.right_edge.i
    split = any(t.pos_ == "CCONJ" or t.text in ",;" for t in ent)
    return ent if inside and not split else None


def _modifier_bounds(token: Token) -> tuple[int, int]:
    start, end = token.i, token.i + 1
    for child in token.lefts:
        if child.dep_ in _LEFT_MODIFIERS and not (child.dep_ == "poss" and child.pos_ == "PRON"):
            start = min(start, child.left_edge.i)
    for child in token.rights:
        if child.dep_ in _RIGHT_MODIFIERS:
            end = max(end, child.right_edge.i + 1)
    return start, max(end, _of_name_end(token))


def _of_name_end(token: Token) -> int:
    """End of ``"University of Copenhagen"`` / ``"city of Toronto"``: a noun followed by ``of``
    and a proper noun; for a proper-noun head the words must be capitalised."""
    prep = next((c for c in token.rights if c.dep_ == "prep" and c.lower_ == "of"), None)
    pobj = next((c for c in prep.children if c.dep_ == "pobj"), None) if prep else None
    if pobj is None or pobj.pos_ != "PROPN" or _enclosure(pobj) != _enclosure(token):
        return token.i + 1
    words = token.doc[token.i + 1 : pobj.right_edge.i + 1]
    if any(t.dep_ in ("conj", "cc", "appos", "punct") for t in words):
        return token.i + 1  # "cities of Hiroshima and Nagasaki": not one name
    titled = all(t.is_title or t.lower_ in ("of", "the") for t in words)
    if token.pos_ == "PROPN" and not titled:
        return token.i + 1
    return pobj.right_edge.i + 1


def _trim(span: Span, head: Token) -> list[Token]:
    """Drop leading/trailing articles, pronouns, punctuation and date or number tokens."""
    tokens = list(span)

    def droppable(t: Token) -> bool:
        if t.i == head.i:
            return False
        return (
            t.pos_ in ("DET", "PRON", "PUNCT", "ADP", "CCONJ", "PART")
            or t.ent_type_ in NON_ENTITY_LABELS
        )

    while tokens and droppable(tokens[0]):
        tokens.pop(0)
    while tokens and droppable(tokens[-1]):
        tokens.pop()
    return tokens


# --- wording --------------------------------------------------------------------------------


def _wording(token: Token) -> str:
    """The phrase headed by ``token`` without clauses, appositions and coordinated items."""
    tokens = [t for t in _phrase_tokens(token, top=True) if t.ent_type_ not in ("DATE", "TIME")]
    tokens = _trim_tokens_edges(tokens, token)
    return _lower_initial(tokens[0], _render(tokens)) if tokens else ""


def _lower_initial(first: Token, text: str) -> str:
    """``"The company"`` inside a statement: lower-case a sentence-initial common word."""
    if first.is_sent_start and first.pos_ != "PROPN" and not first.is_upper:
        return text[:1].lower() + text[1:]
    return text


def _phrase_tokens(token: Token, *, top: bool) -> Iterator[Token]:
    yield token
    for child in token.children:
        if child.dep_ in _DROPPED_EVERYWHERE and not _inside_word(child):
            continue
        if _QUOTE_CHARS.issuperset(child.text) and child.tag_ != "POS":
            continue
        if top and child.dep_ in _DROPPED_AT_TOP:
            continue
        yield from _phrase_tokens(child, top=False)


def _inside_word(token: Token) -> bool:
    """Punctuation written without spaces between two words: ``British–Canadian``."""
    if token.pos_ != "PUNCT" or token.whitespace_ or token.i == 0:
        return False
    return not token.doc[token.i - 1].whitespace_


def _trim_tokens_edges(tokens: list[Token], head: Token) -> list[Token]:
    ordered = sorted(tokens, key=lambda t: t.i)
    while ordered and ordered[-1].i != head.i and ordered[-1].pos_ in ("PUNCT", "CCONJ", "ADP"):
        ordered.pop()
    return ordered


def _verb_group(verb: Token) -> str:
    """Auxiliaries, negation, the verb and its particle, in the original tense."""
    parts = [c for c in verb.lefts if c.dep_ in ("aux", "auxpass")]
    parts += [c for c in verb.children if c.dep_ == "neg"]
    parts += [verb, *(c for c in verb.rights if c.dep_ == "prt")]
    own = _lower_initial(min(parts, key=lambda t: t.i), _render(parts))
    if verb.dep_ == "xcomp" and verb.head.pos_ in ("VERB", "AUX"):
        return f"{_verb_group(verb.head)} {own}"
    if _is_reduced_passive(verb):
        return f"{_copula_word(verb)} {own}"
    return own


def _copula_word(verb: Token) -> str:
    """``is``/``was`` for a reduced passive, following the tense of the governing verb."""
    governor = verb.head if verb.dep_ == "advcl" else verb.head.head
    return "is" if governor.tag_ in ("VBZ", "VBP") else "was"


def _stem(verb: Token) -> str:
    """Predicate stem: negation, governing verb of a controlled clause, lemma, particle
    (``"used to live in"`` is ``live in``, marked ended by :func:`_says_ended`)."""
    negation = "not " if any(c.dep_ == "neg" for c in verb.children) else ""
    stem = f"{negation}{verb.lemma_.lower()}{_particle(verb)}"
    if verb.dep_ == "xcomp" and verb.head.pos_ == "VERB" and not _used_to(verb):
        return f"{_stem(verb.head)} to {stem}"
    return stem


def _used_to(verb: Token) -> bool:
    """``"I used to live in Munich"``: a habit or state that no longer holds."""
    head = verb.head
    return verb.dep_ == "xcomp" and head.lemma_.lower() == "use" and head.tag_ == "VBD"


def _particle(verb: Token) -> str:
    particles = [c.lower_ for c in verb.rights if c.dep_ == "prt"]
    return "".join(f" {p}" for p in particles)


def _statement(verb: Token | None, subject: str, verb_group: str, tail: str) -> str:
    """``"<subject> <verb group> <tail> <date phrase>."``"""
    verb_group = _FIRST_PERSON_VERB.sub(lambda m: _THIRD_PERSON[m[0].lower()], verb_group)
    parts = [subject, verb_group, tail]
    if verb is not None:
        parts.extend(_clause_dates(verb, tail))
    text = _SPACE.sub(" ", " ".join(p for p in parts if p)).strip()
    return f"{text[:1].upper()}{text[1:]}."


def _clause_dates(verb: Token, tail: str) -> list[str]:
    return [
        m.phrase
        for m in sentence_dates(_sentence(verb))
        if m.anchor == verb.i and m.text not in tail
    ]


def _triple(
    subject: Argument,
    predicate: str,
    obj: Argument,
    statement: str,
    pattern: Pattern,
    clause: int,
    *,
    ended: bool = False,
) -> RawTriple:
    confidence = PATTERN_CONFIDENCE[pattern] * subject.factor * obj.factor
    return RawTriple(
        subject=subject.name,
        predicate=predicate,
        object=obj.name,
        statement=statement,
        pattern=pattern,
        confidence=round(confidence, 3),
        clause=clause,
        subject_at=subject.token.i,
        object_at=obj.token.i,
        ended=ended,
    )


# --- sentences, brackets, rendering ---------------------------------------------------------


def _enclosure(token: Token) -> tuple[int, ...]:
    """Character offsets of the brackets and quotes open at ``token`` (innermost last)."""
    return tuple(offset for offset, _ in _open_marks(token))


def _brackets(token: Token) -> tuple[int, ...]:
    """Character offsets of the round or square brackets open at ``token``."""
    return tuple(offset for offset, mark in _open_marks(token) if mark in _OPENERS)


def _open_marks(token: Token) -> list[tuple[int, str]]:
    """Brackets and quotes opened before ``token`` in its sentence and not yet closed.

    Scans the sentence text before the token; ```` `` ```` opens and ``''`` closes a quote.
    """
    doc = token.doc
    first = doc[_sentence_start(token)]
    text = doc[first.i : token.i].text
    opened: list[tuple[int, str]] = []
    quote: tuple[int, str] | None = None
    for match in _ENCLOSING.finditer(text):
        mark, offset = match.group(), first.idx + match.start()
        if mark in _OPENERS:
            opened.append((offset, mark))
        elif mark in _CLOSERS:
            if opened:
                opened.pop()
        elif mark == "``" or (mark != "''" and quote is None):
            quote = (offset, mark)
        else:
            quote = None
    return [*opened, quote] if quote is not None else opened


def _sentence_start(token: Token) -> int:
    """Index of the first token of ``token``'s sentence (``Token.sent`` walks the whole doc)."""
    doc, i = token.doc, token.i
    while i > 0 and not doc[i].is_sent_start:
        i -= 1
    return i


def _sentence(token: Token) -> Span:
    """``token``'s sentence, found by walking from the token (cheaper than ``Token.sent``)."""
    doc, end = token.doc, token.i + 1
    while end < len(doc) and not doc[end].is_sent_start:
        end += 1
    return doc[_sentence_start(token) : end]


def _render(tokens: Iterable[Token]) -> str:
    """Tokens in text order; a gap left by a dropped token (a comma, a clause) is one space."""
    parts: list[str] = []
    previous: Token | None = None
    for token in sorted(tokens, key=lambda t: t.i):
        if previous is not None:
            parts.append(previous.whitespace_ if token.i == previous.i + 1 else " ")
        parts.append(token.text)
        previous = token
    return _SPACE.sub(" ", "".join(parts)).strip(" ,;:")
