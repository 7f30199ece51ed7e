"""A deterministic local matcher from plain-words task descriptions to catalog entries.

Three checks, all explainable:

1. **Score.** TF-IDF with cosine similarity over each candidate's name, description and
   example phrasings, after light stemming (0..1). A candidate scoring below
   :data:`MIN_CONFIDENCE` is never chosen.
2. **Action.** A step is an imperative ("Translate the texts"): its first word is the
   action. A candidate is eligible only if every action of the phrase is one of the
   candidate's own actions (the first words of its description and example phrasings)
   or a listed synonym of one (:data:`SYNONYMS`), or the phrase names the candidate
   ("Run speech-to-text on ..."). This is what keeps "Translate the texts" from binding
   to ``text_concatenation`` because both mention texts.
3. **Direction.** What the phrase takes and makes, as kinds of data (audio, video, image,
   text, code), read from its prepositions and verb ("speech *from* the text", "turn the
   text *into* audio", "read the text *aloud*"; see :func:`direction`), against what the
   candidate takes and makes, read the same way from its name and phrasings. A candidate
   that goes the other way (the phrase makes what the candidate only takes, or takes what
   it only makes) or makes another kind than the phrase asks for is not eligible, unless
   the phrase names it. This is what keeps "Generate speech from the text" from binding
   to ``speech_to_text`` because both mention speech and text.

The best-scoring eligible candidate is chosen; the next eligible one is the runner-up.
Small, dependency-free, and the same answer every run.

Example:
    >>> m = Matcher.build([Entry("text_concatenation", "Join a list of texts", ("concatenate the texts",)),
    ...                    Entry("summarization", "Summarize one text", ("condense the passage",))])
    >>> m.choose("Concatenate the texts").chosen.name
    'text_concatenation'
    >>> m.choose("Translate the texts into French").chosen is None
    True
    >>> str(direction("Generate speech from the text")), str(direction("speech_to_text"))
    ('text -> audio', 'audio -> text')
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

# Minimum cosine score for a description to bind. Chosen so that every example phrasing
# in the seed catalog binds to its own interface while one-word overlaps ("the video")
# do not (tests/test_orchestrator.py checks both).
MIN_CONFIDENCE = 0.2

_STOP = frozenset(
    "a an the of in on for to from and or with each every all any given into by at as is are be "
    "this that these those it its their them using use then".split()
)
_SUFFIXES = ("ization", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ies", "es", "ed", "s")

# Groups of verbs that name the same action. A phrase's verb may stand for any verb of a
# group it belongs to. Written by hand from the seed catalog's descriptions and example
# phrasings: a group is widened only where every member does the same job, so that
# "merge" never stands for "translate". Verbs of no group (translate, sort, email) match
# only themselves.
SYNONYMS: tuple[frozenset[str], ...] = tuple(frozenset(g.split()) for g in (
    "split segment divide cut break chunk partition slice separate",
    "extract pull sample take get grab capture decode demux",
    "detect identify find spot locate recognize tag label list enumerate",
    "transcribe recognize dictate subtitle",
    "describe caption explain narrate annotate",
    "summarize condense abridge digest shorten recap",
    "merge combine consolidate reduce unify fuse aggregate deduplicate dedupe collapse",
    "join concatenate append chain stitch glue merge",
    "answer respond reply",
    "generate write create produce implement draft compose author",
    "revise refine improve critique debate",
    "run execute check evaluate",
    "pick choose select rank vote elect",
    "convert turn",
))
# Nouns that name an action ("scene detection", "majority vote"), as the verb.
NOMINALS: dict[str, str] = {
    "detection": "detect", "extraction": "extract", "recognition": "recognize", "transcription": "transcribe",
    "summarization": "summarize", "summarisation": "summarize", "summary": "summarize",
    "description": "describe", "captioning": "caption", "generation": "generate", "execution": "execute",
    "answering": "answer", "chunking": "chunk", "segmentation": "segment", "ranking": "rank", "vote": "vote",
    "voting": "vote", "concatenation": "concatenate", "reduction": "reduce", "debate": "debate",
    "translation": "translate", "compilation": "compile", "synthesis": "synthesize", "sorting": "sort",
    "classification": "classify",
}
# A phrase that asks a question ("What is the person holding?") asks for an answer.
_QUESTION = frozenset("what which who whom whose where when why how is are was were does do did can could "
                      "should would will".split())
# Words that may precede the verb of an imperative ("Then merge the lists").
_FILLER = frozenset("please then now first next finally also just simply".split())
# Words that open a verb's object: "and summarize it", "and refine the solution".
_OBJECT_START = frozenset("the a an each every all it them its their these those this that".split())
_VERBS = frozenset().union(*SYNONYMS) | frozenset(NOMINALS.values())


# Kinds of data, by the nouns that name them: the job language's types as a phrase says
# them (VIDEO/SCENE: video; AUDIO: audio; IMAGE: image; TEXT/DOCUMENT: text; CODE:
# code). Only nouns that always name that kind: "chunk", "piece", "track" name audio and
# text alike, and "sentence" or "paragraph" a text's form ("in one sentence"), not what
# goes in or out. "aloud" is here as the audio a reading makes.
KINDS: dict[str, str] = {w: kind for kind, words in (
    ("audio", "audio speech sound soundtrack voice recording podcast music song aloud spoken"),
    ("video", "video clip scene shot footage movie film"),
    ("image", "image frame picture photo photograph still snapshot thumbnail"),
    ("text", "text transcript subtitle caption summary description note passage document answer"),
    ("code", "code program function test"),
) for w in words.split()}
# Verbs whose object is what they make ("Generate speech", "Extract the audio", "Find the
# scenes"); the object of any other verb is what it takes ("Transcribe the speech").
_MAKING = frozenset("generate write create produce implement draft compose author synthesize render make "
                    "extract pull sample take get grab capture detect identify find spot locate list "
                    "enumerate give draw paint".split())
# Prepositions that open what a step takes ("the speech *in* the audio", "speech *from* the
# text") and what it makes ("*into* audio", "speech *to* text", "save it *as* audio").
_TAKES = frozenset("from in of on for per within inside with using given against about".split())
_MAKES = frozenset("into to as".split())
# Nouns of quantity: "a number of frames" is frames, not something a number is taken from.
_QUANTITY = frozenset("number list set few couple pair series sequence lot lots batch group collection "
                      "bunch handful kind type".split())


@dataclass(frozen=True)
class Direction:
    """The kinds of data (:data:`KINDS`) a phrase takes and makes; empty where it does not say."""

    takes: frozenset[str] = frozenset()
    makes: frozenset[str] = frozenset()

    def __or__(self, other: "Direction") -> "Direction":
        return Direction(self.takes | other.takes, self.makes | other.makes)

    def __str__(self) -> str:
        def kinds(k: frozenset[str]) -> str:
            return " or ".join(sorted(k)) or "?"
        return f"{kinds(self.takes)} -> {kinds(self.makes)}"

    def against(self, other: "Direction") -> str | None:
        """Why a candidate going ``other`` does not do what a phrase going ``self``
        asks, in words; None when nothing the phrase says contradicts it.

        >>> direction("Generate speech from the text").against(direction("Transcribe the speech into text"))
        'the reverse'
        """
        # What a candidate takes counts only where its phrasings also say what it makes:
        # one described as "read text" alone may well read it from an image.
        both = bool(other.takes and other.makes)
        only_takes, only_makes = other.takes - other.makes, other.makes - other.takes
        if both and (self.makes & only_takes or self.takes & only_makes):
            return "the reverse"
        if self.makes and other.makes and not self.makes & other.makes:
            return f"it makes {' or '.join(sorted(other.makes))}, not {' or '.join(sorted(self.makes))}"
        # What a candidate takes is checked against the arguments' types when the step is
        # bound; but a phrase that says both ends ("turn the text into audio") asks for that
        # conversion, which a candidate from another kind does not do.
        if both and self.makes and self.takes and not self.takes & other.takes:
            return f"it takes {' or '.join(sorted(other.takes))}, not {' or '.join(sorted(self.takes))}"
        return None


def _kind(word: str) -> str | None:
    """The kind of data a word names, singular or plural ('summaries', 'speeches')."""
    for w in (word, word[:-1] if word.endswith("s") else "", word[:-2] if word.endswith("es") else "",
              word[:-3] + "y" if word.endswith("ies") else ""):
        if w in KINDS:
            return KINDS[w]
    return None


def _clauses(text: str) -> list[list[str]]:
    """A phrase's clauses, as words: split at sentence punctuation and at "and"/"then"
    before a verb of the matcher ("Decode a scene and sample frames from it"). What is in
    parentheses is an aside ("(video clip)", "(knob frames_per_scene)") and dropped."""
    text = re.sub(r"\([^()]*\)", " ", text)
    out = []
    for sentence in re.split(r"[;:.!?]", text):
        words, start = _words(sentence), 0
        for i in range(1, len(words) - 1):
            if words[i] in ("and", "then") and (_verb(words[i + 1]) in _VERBS or words[i + 1] in _MAKING):
                out.append(words[start:i])
                start = i + 1
        out.append(words[start:])
    return [c for c in out if c]


def _clause_direction(words: list[str]) -> Direction:
    while words and words[0] in _FILLER:
        words = words[1:]
    if not words:
        return Direction()
    # The verb: a verb the matcher knows, or an imperative it does not ("Read the text");
    # a noun phrase names its action in a noun ("speech recognition"), or none ("speech to
    # text"). The verb's object is the words after it, up to the first preposition.
    verb: str | None = _verb(words[0])
    if verb not in _VERBS and verb not in _MAKING:
        lead = list(itertools.takewhile(lambda w: w not in _STOP, words))
        at = next((i for i, w in enumerate(lead) if w in NOMINALS), None)
        if at is not None:
            verb, words = NOMINALS[lead[at]], [NOMINALS[lead[at]], *words[:at], *words[at + 1:]]
        elif _kind(words[0]) is not None:
            verb, words = None, ["", *words]
    segments: list[tuple[str, list[str]]] = [("", [])]   # (preposition, words), the object first
    for before, w in zip(words, words[1:]):
        if w == "of" and before in _QUANTITY:
            continue                                      # "a number of frames": the frames
        if w == "of" and before == "out":
            w = "from"                                    # "the audio track out of each video"
        if w == "loud" and before == "out":
            w = "aloud"                                   # "read it out loud"
        if w in _TAKES or w in _MAKES or w == "aloud":
            segments.append((w, []))
        segments[-1][1].append(w)
    takes: set[str] = set()
    makes: set[str] = set()
    made_from = any(p == "from" for p, _ in segments)
    for prep, seg in segments:
        # In a compound the last noun is the thing, the others say what of: "video frames"
        # are images, "speech audio" is audio.
        kinds = {k for w, after in zip(seg, [*seg[1:], ""])
                 if (k := _kind(w)) is not None and _kind(after) is None}
        if prep == "":
            if verb is None:
                # A noun phrase says nothing of its nouns, unless it turns them into
                # something ("speech to text").
                if any(p in _MAKES for p, _ in segments):
                    takes.update(kinds)
            elif (verb in _MAKING and "down" not in seg[:1]) or made_from:
                makes.update(kinds)   # "Generate speech", "the audio from the video"; not "write down ..."
            else:
                takes.update(kinds)
        elif prep in _MAKES or prep == "aloud":
            makes.update(kinds)
        else:
            takes.update(kinds)
    return Direction(frozenset(takes), frozenset(makes))


def direction(phrase: str) -> Direction:
    """What a phrase takes and makes, as kinds of data (:data:`KINDS`).

    >>> str(direction("Turn the text into audio")), str(direction("Read the text aloud"))
    ('text -> audio', 'text -> audio')
    >>> str(direction("Extract the audio from the video")), str(direction("Transcribe the speech in the audio"))
    ('video -> audio', 'audio -> ?')
    """
    out = Direction()
    for clause in _clauses(phrase.replace("_", " ")):
        out |= _clause_direction(clause)
    return out


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in _words(text) if w not in _STOP]


def _verb(word: str) -> str:
    """A verb in its base form, British spellings as American: 'summarise' -> 'summarize'."""
    word = NOMINALS.get(word, word)
    if word.endswith("ise") and word[:-3] + "ize" in _VERBS:
        return word[:-3] + "ize"
    if word.endswith("s") and word[:-1] in _VERBS:  # "merges"
        return word[:-1]
    return word


def actions(phrase: str) -> tuple[str, ...]:
    """The actions a phrase asks for: its leading verb and the verbs coordinated with it
    ("Merge and deduplicate" -> merge, deduplicate); for a noun phrase ("scene detection
    of the videos"), the action its leading nouns name; for a question, 'answer'.

    >>> actions("Merge and deduplicate the lists"), actions("Scene detection"), actions("What is it?")
    (('merge', 'deduplicate'), ('detect',), ('answer',))
    """
    words = _words(phrase)
    while words and words[0] in _FILLER:
        words = words[1:]
    if not words:
        return ()
    if words[0] in _QUESTION or phrase.rstrip().endswith("?"):
        return ("answer",)
    first = _verb(words[0])
    if first not in _VERBS:
        # A noun phrase names its action in its leading nouns: "speech recognition", "majority vote".
        lead = []
        for w in words:
            if w in _STOP:
                break
            lead.append(w)
        named = [_verb(w) for w in lead[1:] if _verb(w) in _VERBS]
        return (named[-1],) if named else (first,)
    # A coordinated verb follows the first directly ("Merge and deduplicate the lists") or
    # takes an object of its own ("... and summarize it"); "the transcript and captions"
    # coordinates nouns.
    found, last = [first], 0
    for i in range(1, len(words) - 1):
        word, after = _verb(words[i + 1]), words[i + 2] if i + 2 < len(words) else ""
        if words[i] in ("and", "or", "then") and word in _VERBS and (i == last + 1 or after in _OBJECT_START):
            if word not in found:
                found.append(word)
            last = i + 1
    return tuple(found)


def _synonyms(verb: str) -> frozenset[str]:
    return frozenset({verb}).union(*(g for g in SYNONYMS if verb in g))


def _names(phrase: str, name: str) -> bool:
    """Does the phrase name ``name`` ('speech_to_text' in 'Run speech-to-text on ...')?
    Only a name of two words or more counts: a one-word name ('ranking') is also a plain
    noun ('Translate the ranking')."""
    words, parts = _words(phrase), name.lower().split("_")
    return len(parts) > 1 and any(words[i:i + len(parts)] == parts for i in range(len(words) - len(parts) + 1))


@dataclass(frozen=True)
class Entry:
    """One candidate: its name, the text it is scored on, and the imperative phrasings
    (description, examples) whose actions say what it does."""

    name: str
    text: str
    phrasings: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    name: str
    score: float


@dataclass(frozen=True)
class Choice:
    """What the matcher made of one phrase."""

    phrase: str
    actions: tuple[str, ...]
    ranked: tuple[Match, ...]          # every candidate, best score first
    eligible: tuple[Match, ...]        # those that do the phrase's actions, its way, best first
    does: dict[str, tuple[str, ...]]   # candidate -> its actions (for messages)
    goes: Direction = Direction()      # what the phrase takes and makes
    # Candidates that do the phrase's actions but not its way: name -> (direction, why).
    turned: dict[str, tuple[Direction, str]] = field(default_factory=dict)

    @property
    def chosen(self) -> Match | None:
        best = self.eligible[0] if self.eligible else None
        return best if best is not None and best.score >= MIN_CONFIDENCE else None

    @property
    def runner_up(self) -> Match | None:
        """The next candidate that also does the phrase's actions."""
        return self.eligible[1] if len(self.eligible) > 1 else None

    @property
    def next_best(self) -> Match | None:
        """The best-scoring candidate other than the chosen one, whatever it does."""
        chosen = self.chosen
        return next((m for m in self.ranked if m != chosen), None)

    def refusal(self) -> tuple[str, str]:
        """(message, closest) for a phrase nothing was chosen for."""
        top = self.ranked[0] if self.ranked else None
        closest = ", ".join(f"{m.name} ({m.score:.2f})" for m in self.ranked[:3])
        if self.eligible and self.eligible[0].score < MIN_CONFIDENCE and (top is None or top == self.eligible[0]):
            return (f"no interface matches '{self.phrase}' with enough confidence "
                    f"(best {self.eligible[0].score:.2f} < {MIN_CONFIDENCE})", closest)
        if top is None or top.score < MIN_CONFIDENCE:
            best = top.score if top else 0.0
            return (f"no interface matches '{self.phrase}' with enough confidence "
                    f"(best {best:.2f} < {MIN_CONFIDENCE})", closest)
        if top.name in self.turned:
            goes, why = self.turned[top.name]
            return (f"'{self.phrase}' asks for {self.goes}, which {top.name} (score {top.score:.2f}) does not do "
                    f"(it goes {goes}: {why})", closest)
        verbs = ", ".join(self.actions) or "nothing"
        does = ", ".join(self.does.get(top.name, ())) or "nothing"
        return (f"'{self.phrase}' asks to {verbs}, which {top.name} (score {top.score:.2f}) does not do "
                f"(it does: {does})", closest)


@dataclass(frozen=True)
class Matcher:
    """Rank named documents against a query. Build once per catalog."""

    names: tuple[str, ...]
    vectors: tuple[dict[str, float], ...]
    idf: dict[str, float]
    does: tuple[frozenset[str], ...] = ()
    goes: tuple[Direction, ...] = ()

    @classmethod
    def build(cls, entries: Sequence[Entry]) -> "Matcher":
        counted = [(e.name, Counter(tokens(e.text))) for e in entries]
        df: Counter[str] = Counter()
        for _, c in counted:
            df.update(c.keys())
        n = len(counted)
        idf = {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}
        vectors = tuple(_normalise({t: (1 + math.log(k)) * idf[t] for t, k in c.items()}) for _, c in counted)
        does = tuple(frozenset(a for p in e.phrasings for a in actions(p)) for e in entries)
        goes = tuple(functools.reduce(operator.or_, map(direction, e.phrasings), direction(e.name))
                     for e in entries)
        return cls(tuple(name for name, _ in counted), vectors, idf, does, goes)

    def rank(self, query: str) -> list[Match]:
        q = Counter(tokens(query))
        qv = _normalise({t: (1 + math.log(k)) * self.idf[t] for t, k in q.items() if t in self.idf})
        scores = [Match(name, round(sum(w * vec.get(t, 0.0) for t, w in qv.items()), 4))
                  for name, vec in zip(self.names, self.vectors)]
        return sorted(scores, key=lambda m: (-m.score, m.name))

    def choose(self, phrase: str) -> Choice:
        """Rank every candidate and keep those that do what the phrase asks, the way it
        asks (a phrase that names a candidate keeps it whatever it says)."""
        asked, goes = actions(phrase), direction(phrase)
        does, ways = dict(zip(self.names, self.does)), dict(zip(self.names, self.goes))
        ranked = self.rank(phrase)
        acting = [m for m in ranked if m.score > 0 and (
            _names(phrase, m.name) or all(_synonyms(a) & does[m.name] for a in asked))]
        way = {m.name: ways.get(m.name, Direction()) for m in acting}
        turned = {name: (w, why) for name, w in way.items()
                  if not _names(phrase, name) and (why := goes.against(w)) is not None}
        eligible = tuple(m for m in acting if m.name not in turned)
        return Choice(phrase, asked, tuple(ranked), eligible,
                      {name: tuple(sorted(d)) for name, d in does.items()}, goes, turned)


def _normalise(v: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(x * x for x in v.values()))
    return {t: x / norm for t, x in v.items()} if norm else {}


@dataclass(frozen=True)
class StepMatch:
    """A plain-words step and what was chosen for it, as ``check`` and EXPLAIN show it."""

    workflow: str
    task: str                 # the task's name; '<run>' for a description-only RUN
    phrase: str
    kind: str                 # 'interface' or 'template'
    chosen: Match
    runner_up: Match | None   # the best-scoring other candidate
    runner_up_eligible: bool  # whether it, too, does the phrase's actions (whichever way it goes)

    @classmethod
    def of(cls, workflow: str, task: str, kind: str, choice: Choice) -> "StepMatch":
        assert choice.chosen is not None
        runner = choice.next_best
        return cls(workflow, task, choice.phrase, kind, choice.chosen, runner,
                   runner is not None and (runner in choice.eligible or runner.name in choice.turned))
