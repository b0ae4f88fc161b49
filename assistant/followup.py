"""Whether a question carries on from the one before it, and what is then searched.

A question in a conversation is searched on its own unless it refers back: a pronoun or a
demonstrative with nothing in the question to stand for ("How do they evaluate it?", "What
dataset does this method use?"), an ellipsis ("And the results?", "What about video?"), or a
bare "why?"; "the method", "the results" count when the question names nothing else. A
question that gives the pronoun its antecedent ("What is PaSa and how does it search?", "Which
works build their generator on a transformer?") is standalone, and so is an "it" that stands
for nothing ("Is it possible to ..."). Without a model this rule decides
(``tests/bench/bench_followups.py`` measures it on conversations built from the development
questions: unrelated pairs 110/110 kept apart, constructed follow-ups 50/50 carried on, and on
rows written after the rule was settled 10/10 and 10/12); with one, the model's rewrite does
(``prompts/rewrite.yaml``).

A follow-up is searched with the previous turn's search (its last ``CARRIED_WORDS`` words) before
it, never with the words of older, unrelated turns: each turn's search is its own question or, for
a follow-up, the one turn before it.
"""

from __future__ import annotations

import re

CARRIED_WORDS = 40  # a long earlier search must not drown the follow-up

# words that stand for something said before: pronouns and "this/that/these/those/such" with a
# noun (strong: they refer back unless a name comes before them in the question), and "the
# method", "the results", "the authors" (weak: they refer back when the question names nothing)
_NOUNS = (
    r"(?:new\s+|proposed\s+|same\s+|above\s+|previous\s+|mentioned\s+)?(?:method|model|approach|paper|work|"
    r"study|framework|system|technique|dataset|benchmark|idea|one|architecture|algorithm|network|tool|"
    r"agent|result|evaluation|author|experiment|finding|contribution|limitation)s?\b"
)
_PRONOUN = re.compile(
    r"\b(?:it|its|it's|itself|they|them|their|theirs|themselves|he|she|his|her|these|those|"
    rf"the\s+same|the\s+former|the\s+latter|(?:this|that|such)\s+{_NOUNS})(?![\w'-])",
    re.IGNORECASE,
)
_DEFINITE = re.compile(
    rf"\bthe\s+{_NOUNS}(?!\s+(?:of|for|in|on|that|which|who|used|proposed|behind)\b)", re.IGNORECASE
)
# "Which works build their ...": the pronoun stands for what the question asks about
_ASKED = re.compile(
    r"^(?:which|what)\s+(?:[\w-]+\s+){0,2}?(?:works?|papers?|methods?|models?|approach(?:es)?|systems?|studies|"
    r"study|frameworks?|techniques?|architectures?|datasets?|benchmarks?|ones?|agents?|networks?|tools?)\b",
    re.IGNORECASE,
)
# "it" that stands for nothing: "is it possible to ...", "it is hard to ..."
_EXPLETIVE = re.compile(
    r"\b(?:(?:is|was|would\s+it\s+be|isn't)\s+it|it\s+(?:is|was))\s+(?:possible|true|necessary|feasible|"
    r"hard|difficult|easy|better|worth|common|known)\b",
    re.IGNORECASE,
)
# an ellipsis: a question that starts by leaning on the last one
_ELLIPSIS = re.compile(
    r"^\s*(?:and|also|but|so|then|what\s+about|how\s+about|what\s+else|anything\s+else|"
    r"any\s+others?|why|how\s+so|in\s+what\s+way|compared\s+to\s+what|more\s+on|tell\s+me\s+more|"
    r"go\s+on|elaborate|explain\s+more)\b",
    re.IGNORECASE,
)
_AUXILIARY = re.compile(
    r"\b(?:do|does|did|is|are|was|were|can|could|would|will|has|have|had)\s+$", re.IGNORECASE
)
_QUESTION = re.compile(
    r"\b(?:what|which|how|who|whom|whose|why|when|where|does|do|did|is|are|was|were|can|could|has|have)\b",
    re.IGNORECASE,
)
# a name a question gives its own subject: a capital letter, a digit or a "^" inside a word
# ("PaSa", "CLIP", "UniF^2ace", "GPT-4"), or a quoted phrase
_NAME = re.compile(
    r"\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z0-9^][\w^-]*|\b[A-Z][a-z]+[-\d][\w-]*|[\"“‘'][^\"”’']{3,}[\"”’']"
)
_WORD = re.compile(r"[A-Za-z][\w^-]*")
# words too common to be a topic of their own ("how", "is", "the", "method") and question words
_PLAIN = frozenset(
    "a an the and or but so of in on at to for from by with about as is are was were be been do does did "
    "how what which who whom whose why when where can could would should will may might must has have had "
    "it its they them their this that these those there here also else more other others any some same "
    "me us we you i tell explain describe show give work works working use used uses using main key "
    "compare compared evaluate evaluated evaluation perform performance result results author authors "
    "method methods model models approach approaches paper papers study framework system technique "
    "dataset datasets benchmark idea one ones experiment experiments finding findings contribution "
    "contributions limitation limitations new proposed previous mentioned above".split()
)
ANTECEDENT_WORDS = 3  # content words before a pronoun that can stand for what it refers to
MIN_TOPIC_WORDS = 2  # a question with fewer content words than this names no subject of its own


def refers_back(question: str) -> bool:
    """Whether ``question`` leans on the conversation before it (see the module's rule)."""
    text = _EXPLETIVE.sub(" ", " ".join(question.split()))
    if not text.strip():
        return False
    topic = [w for w in _WORD.findall(text) if w.lower() not in _PLAIN]
    named = _first_name(text)
    if cue := _ELLIPSIS.match(text):
        # "And the results?", "What about video?": no question of its own; "And how is PaSa
        # trained?" asks one, judged as any other
        text = text[cue.end() :]
        if not _QUESTION.search(text):
            return True
        topic = [w for w in _WORD.findall(text) if w.lower() not in _PLAIN]
        named = _first_name(text)
    strong = _PRONOUN.search(text)
    if strong is not None:
        # "What is PaSa and how does it work?", "Which paper predicts facial beauty and what is
        # its dataset?": the pronoun has its antecedent in the question
        before = [w for w in _WORD.findall(text[: strong.start()]) if w.lower() not in _PLAIN]
        # ... but not in "What datasets do they use?", where the pronoun is the subject
        asked = (
            _ASKED.match(text) is not None
            and not strong.group(0).lower().startswith(("this", "that"))
            and not _AUXILIARY.search(text[: strong.start()])
        )
        return (named is None or named > strong.start()) and len(before) < ANTECEDENT_WORDS and not asked
    if _DEFINITE.search(text):
        return named is None
    return not topic  # "How?", "Why is that?"


def standalone(question: str, previous_search: str | None) -> str:
    """What a follow-up is searched for: the previous turn's search, then the question."""
    if not previous_search:
        return question
    carried = " ".join(previous_search.split()[-CARRIED_WORDS:])
    return f"{carried} {question}"


def _first_name(text: str) -> int | None:
    """Where the question's first own name starts (its first word does not count: "What" and
    "Which" start with a capital)."""
    for match in _NAME.finditer(text):
        if match.start() > 0 or re.match(r"[A-Z][a-z]+\b", match.group(0)) is None:
            return match.start()
    return None
