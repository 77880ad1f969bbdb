"""What the author wants: question, complaint, praise, suggestion, purchase intent, or other.

A hand-built rule set over English cue phrases, written on the ``tune`` half of our labelled
development set (benchmarks/data/intent_dev_labels.csv) and measured on the ``test`` half.
Rules, not a learned model, because no labelled intent corpus of social posts is available to
us and rules are easy to read, fix and extend; questions and complaints decide what enters the
inbox, so the rules lean towards catching them (recall) over being sure (precision).

The first matching rule wins, in this order: suggestion, purchase, praise, complaint, question,
other. Strong complaint cues outweigh a question; weak ones (negations, waiting) count half,
and an explicit "quick question" or "I was wondering" outweighs them. ``confidence`` grows with
the number of cues found; it is a ranking aid, not a calibrated probability.

Speed: the rules are compiled once into case-sensitive patterns whose alternatives are grouped
by first character, run over case-folded text (``fold_case``); ``reference_rules`` is the
plain case-insensitive form, which tests check gives the same labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from goodwill.analysis.types import Prediction
from goodwill.domain import INTENT_LABELS

__all__ = ["INTENTS", "classify_intents"]

INTENTS = INTENT_LABELS


# Each rule is a list of alternatives, tried in order at each position (as ``a|b|c`` would
# be). They are written lowercase: ``_compile`` builds the fast matcher that runs on
# lowercased text, ``reference_rules`` the plain case-insensitive one (tests check they agree).


def _each(heads: Sequence[str], tail: str) -> list[str]:
    """``\b(?:h1|h2) tail`` written as one alternative per head (the same matches, in the same
    order), so that the fast matcher can group alternatives by their first letter."""
    return [rf"\b{h}{tail}" for h in heads]


def _words(*words: str) -> list[str]:
    return _each(words, r"\b")


_SUGGESTION = [
    r"\byou (?:guys |all |really )?(?:should|need to|ought to) (?:add|make|offer|have|bring|"
    r"get rid|let|allow|start|consider|introduce|stop|fix|give|do)\b",
    *_each(
        ["should", "needs? to", "need"],
        r" (?:add|offer|bring back|allow|introduce|have an? option)\b",
    ),
    r"\bit would be (?:nice|great|awesome|cool|good|helpful|amazing) (?:if|to)\b",
    r"\bwould(?:n'?t| not)? (?:it )?be (?:nice|great|awesome|cool) if\b",
    *_each(["any", "are there"], r" plans? (?:to|for|on)\b"),
    r"\bany chance (?:of|you(?:'ll| will| could)?) (?:add|start|offer|bring|get|open|expand)",
    r"\bwill you (?:expand|add|start|offer|bring|ever)\b",
    r"\bwhen will you (?:join|add|start|offer|bring)\b",
    r"\bplease (?:add|bring back|consider|make it|introduce|allow)\b",
    r"\bcan you (?:please )?(?:make it|add an?|add the|make (?:an?|the) option)\b",
    r"\bcan you make (?:it )?easier\b",
    r"\bfeature request\b",
    *_each(["needs?", "want", "would love"], r" (?:a|an|the|more) (?:feature|option|setting)\b"),
    r"\bi wish (?:you|there was|there were|it)\b",
    *_each(["would", "'d"], r" love (?:to see|it if|if you)\b"),
    r"\bwhy not (?:add|offer|make|have)\b",
    r"\bhow about (?:adding|offering|a |an )\b",
    r"\bneeds? (?:2|to) end\b",
    r"\bneed more (?:details|options|choices)\b",
    r"\bsuggestion\b",
    r"\btell your \w+(?: \w+)? to\b",
    r"\bwhere you at\b",
]

_PURCHASE = [
    *_each(
        [
            "want",
            "wanting",
            "going",
            "planning",
            "plan",
            "looking",
            "thinking",
            "hoping",
            "about",
            "ready",
            "need",
            "trying",
        ],
        r" (?:to|of|on|about) (?:buy|buying|purchase|purchasing|book|booking|order|ordering|"
        r"upgrade|upgrading|subscribe|subscribing|sign up|signing up|switch|switching|"
        r"get a new|transfer (?:my )?status|do a mileage run)\b",
    ),
    r"\bhow (?:do|can|would) (?:i|we) (?:go about )?(?:buy|purchase|book|order|upgrade|"
    r"subscribe|sign up|get a quote)\b",
    r"\bhow (?:do|would) (?:i|we) (?:go|do) about buying\b",
    r"\bwhere (?:can|do) (?:i|we) (?:buy|purchase|order|get one)\b",
    *_each(
        ["do", "does"],
        r" (?:the )?(?:plus|premium|pro|business|family|unlimited)(?: plan| version)?"
        r" (?:allow|include|come|have|offer|support)\b",
    ),
    r"\bhow much (?:is|are|does|do|for|would)\b",
    r"\bin bulk\b",
    *_each(["award", "reward", "saver"], r"s? (?:will )?open up\b"),
    r"\bmileage run\b",
    *_each(["is", "are"], r" (?:it|they|this|these) (?:still )?(?:available|in stock)\b"),
    r"\bcan (?:i|we) (?:pre-?order|buy|purchase)\b",
    r"\bdiscount on my\b",
    r"\blower (?:ticket )?prices so i can\b",
    r"\bsell me\b",
    r"\bwill get our (?:biz|business)\b",
]

# Something went wrong, or the author is unhappy: the inbox's first business. Strong cues say so
# alone; weak ones (negations, waiting times) count half, so that "can I change my flight next
# week?" stays a question.
_COMPLAINT = [
    *_words(
        "delay(?:ed|s)?",
        "cancell?(?:ed|ing)",
        "stuck",
        "stranded",
        "missed",
        "lost",
        "missing",
        "broken",
        "damaged",
        "wrong",
        "error",
        "bug(?:gy|s)?",
        "crash(?:es|ed|ing)?",
        "freez(?:es|ing)",
        "fault(?:y)?",
        "problems?",
        "issues?",
        "trouble",
        "hacked",
        "compromised",
        "locked out",
        "logged out",
        "scam(?:s|mers)?",
        "fraud",
        "phishing",
        "spam",
        r"overcharg\w*",
        "charg(?:ed|ing) me",
        "refund",
        r"compensat\w*",
        "on hold",
        "no response",
        "no reply",
        "no answer",
        "ignored?",
        "messed up",
        "not working",
        "doesn'?t work",
        "won'?t (?:load|work|let|open|play|start)",
        "stopped working",
        "nothing works",
        "down",
    ),
    *_words(
        "worst",
        "terrible",
        "horrible",
        "awful",
        "ridiculous",
        "unacceptable",
        r"disappoint\w*",
        r"frustrat\w*",
        r"annoy\w*",
        "angry",
        "furious",
        "upset",
        "pathetic",
        "useless",
        "pointless",
        "rude",
        "incompetent",
        r"shame\w*",
        r"disgust\w*",
        "joke",
        "nonsense",
        "mess",
        "shambles",
        "lousy",
        "sucks?",
        "suck(?:ed|ing)",
        "crap",
        r"shit\w*",
        r"fuck\w*",
        "wtf",
        "smh",
        "ugh",
        "lame",
        "fail(?:ed|ing|s)?",
        "downhill",
        r"irritat\w*",
        "worse",
        "bad",
        "poor",
        "nightmare",
        "never again",
        "done with",
        "last time",
        "liars?",
        "lies",
        "evil",
        "scum",
        "ashamed",
        "unbearable",
        r"ruin\w*",
        r"destroy\w*",
        "excuses",
        "impossible",
        "zero stars",
        "slap in the face",
    ),
    r"\bfix (?:it|this|your|the|my)\b",
    r"\bplease (?:help|resolve|fix|refund)\b",
    r"\bhelp!",
    r"\bneed (?:your )?help\b",
    r"\bhelp (?:me|us|plz|please|needed)\b",
    r"\bcan you (?:please )?(?:help|assist)\b",
    r"\bany help\b",
    r"\bsort (?:it|this) out\b",
    r"\bget it together\b",
    r"\bwhat(?:'s| is|s) (?:going on|up with|the (?:hold ?up|delay|issue|problem))\b",
    r"\bwhat happened\b",
    r"\bhow come\b",
    r"\bwhy (?:is|are|does|do|did|can'?t|won'?t|would|am|was|has|have|the hell|on earth)\b",
    # complaints phrased as questions: rhetorical, sarcastic, or about something already tried,
    # missing or down (rules-2)
    r"\bhow (?:do|can|could|does|did) (?:you|they|u) not\b",
    r"\byou (?:guys )?call this\b",
    *_each(["i", "we", "i've", "we've", "have", "already"], r" (?:already )?tried\b"),
    r"\bwas(?:n'?t| not) (?:sen[dt]|delivered|received|included)\b",
    r"\bscratch(?:ed|ing)?\b",
    *_each(["get", "got", "received"], r" nothing\b"),
    r"\bwhen will (?:\w+ ){1,5}(?:be )?back\b",
    *_each(["want", "would like", "need"], r" (?:\w+ ){1,3}back\b"),
    r"\banyone else (?:getting|having|seeing|experiencing|facing|noticed?)\b",
    r"\bam i the only one\b",
    r"\bneeds? (?:to be )?fix(?:ed|ing)\b",
    r"\bdon'?t (?:get|understand) why\b",
    r"\bwhy (?:this|my|our)\b",
]
_COMPLAINT_EMOJI = "[😡😠🤬😤😒🙄😩😫😭😢☹😞😑🤦]"
_WEAK_COMPLAINT = _words(
    "not", "never", "nothing", "isn'?t", "aren'?t", "wasn'?t", "weren'?t", "doesn'?t",
    "don'?t", "didn'?t", "won'?t", "can'?t", "cannot", "couldn'?t", "wouldn'?t", "haven'?t",
    "hasn'?t", "unable to", "no longer", "refuses? to", "failed to", "keeps?", "still", "again",
    "waiting", "waited", "hours?", "days?", "weeks?", "months?", "late", "sad", "slow(?:er)?",
    "cant", "wont", "dont", "didnt", "doesnt", "isnt", "havent",
    # rules-2
    "minutes?", "instead of", "asap",
)  # fmt: skip
_WEAK_COMPLAINT.append("!!!")  # shouting

_QUESTION_START = [
    r"^(?:how|what|when|where|why|who|which|whats|is|are|do|does|did|can|could|will|would|"
    r"should|shall|may|any|anyone|anybody|has|have)\b"
]
# A question mark, but not "?!" nor "!?": those exclaim (rules-2).
_QUESTION_MARK = [r"\?(?<!!\?)(?!!)"]
# Asking in so many words: outweighs weak complaint cues ("quick question: can it never be
# used again?"), not strong ones.
_QUESTION = [
    *_words(
        "i was wondering", "i wonder(?:ed)? if", "a question",
        "quick question", "random question", "simple question", "small question",
        "silly question", "one question", "another question", "general question",
        "is there (?:a|any) ?way", "can you tell me", "could you tell me",
        "please (?:tell|let) me know", "please advise", "i(?:'d| would) like to know",
        "want to know", "need to know", "how (?:do|can|to) (?:i|we|you)?",
    ),
]  # fmt: skip

_PRAISE = [
    *_each(
        [
            "thank(?:s| you)(?: to)? (?:for|so much|very much|again|a lot|guys|team)",
            "thx for", "many thanks", "much appreciated", "appreciate (?:it|you|the)",
            "love(?:d|s)? (?:you|it|your|the|this|how|my|that|our)", "i love", "we love",
        ],
        "",
    ),
    *_each(
        [
            "great", "excellent", "amazing", "awesome", "fantastic", "outstanding", "wonderful",
            "stellar", "superb", "brilliant", "perfect", "exceptional", "fabulous",
        ],
        " (?:job|service|customer service|experience|staff|crew|team|flight|work|update|"
        "support|help|food|people|trip)",
    ),
    *_each(
        [
            "best (?:customer service|airline|service|flight|ever|experience)",
            "shout ?out", "kudos", "props (?:to|are)", "compliments", "well done", "good job",
            "nice work", "bravo", "a blessing", "delicious", "delightful", "yummy", "you rock",
            "rock star", "above and beyond", "game changer", "the best", "made my day",
            "is amazing", "are amazing", "was amazing", "so good", r"love\b", r"#\w*love\w*",
            "awesome", "brilliant", "excellent", "amazing", "fantastic", "wonderful",
            "great (?:update|trip|flights?)", "god bless", "blessed", r"a\+",
        ],
        "",
    ),
]  # fmt: skip
_PRAISE_EMOJI = "[😍🥰❤♥💙💕👏🙌👌😋]"
_NEGATED_PRAISE = [
    r"\b(?:not|never|no|n'?t) (?:so |very |that |really )?(?:great|good|"
    r"positive|amazing|awesome|excellent|best)\b"
]

# ``[@#]\w+|https?://\S+|__\w+__|\blink\b``, written so that every alternative starts with a
# literal character (``re`` then skips the positions where none can start): ``l(?<!\w.)`` is
# ``\bl``.
_MENTION_OR_LINK = re.compile(r"@\w+|#\w+|https?://\S+|__\w+__|l(?<!\w.)ink\b")
_LETTERS = re.compile(r"[^\W\d_]{2,}")


# -- compiling the rules ----------------------------------------------------------------------
_HEAD = re.compile(r"(?P<b>\\b)?(?P<char>\\[^0-9A-Za-z]|[^\\\[\](){}|.^$*+?])(?![?*+{])")


def _trie(alternatives: Sequence[str]) -> str:
    """The same alternation with alternatives grouped by their first character, recursively.

    Python's ``re`` tries alternatives one after the other at each position; grouped, it tests
    one character per group instead. Alternatives that start with different characters never
    match at the same position, and inside a group the order is kept, so the first match found
    (and so the count of matches) is unchanged.
    """
    heads = [_HEAD.match(a) for a in alternatives]
    if len(alternatives) < 2 or not all(heads):
        return "|".join(f"(?:{a})" for a in alternatives)
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for alt, m in zip(alternatives, heads, strict=True):
        assert m is not None
        key = m.group("char")[-1]
        groups.setdefault(key, []).append((m.group("b") or "", m.group("char"), alt[m.end() :]))
    # Groups are mutually exclusive, so they may be reordered: those that all start at a word
    # boundary go together behind one ``\b``, tested once per position.
    by_bound: dict[str, list[str]] = {}
    for members in groups.values():
        if len({b for b, _, _ in members}) > 1:
            by_bound.setdefault("", []).extend(f"(?:{b}{c}{rest})" for b, c, rest in members)
        else:
            bound, char, _ = members[0]
            inner = _trie([rest for _, _, rest in members])
            by_bound.setdefault(bound, []).append(f"{char}(?:{inner})")
    return "|".join(f"{bound}(?:{'|'.join(parts)})" for bound, parts in by_bound.items())


class _Rule(NamedTuple):
    """One rule compiled: its phrases and, for some, a class of emoji counted as cues too.

    The fast matcher counts the two apart: no phrase contains an emoji and an emoji match is
    one character, so the matches of ``phrases|emoji`` are those of each, and a text without
    any non-ASCII character needs no emoji scan.
    """

    phrases: re.Pattern[str]
    emoji: re.Pattern[str] | None = None

    def count(self, text: str) -> int:
        n = len(self.phrases.findall(text))
        if self.emoji is not None and not text.isascii():
            n += len(self.emoji.findall(text))
        return n


class _Rules(NamedTuple):
    """The compiled rules and the fold to apply to a post's text before matching them."""

    fold: Callable[[str], str]
    suggestion: _Rule
    purchase: _Rule
    complaint: _Rule
    weak_complaint: _Rule
    question_start: _Rule
    question_mark: _Rule
    question: _Rule
    praise: _Rule
    negated_praise: _Rule


_RULES = (
    (_SUGGESTION, None),
    (_PURCHASE, None),
    (_COMPLAINT, _COMPLAINT_EMOJI),
    (_WEAK_COMPLAINT, None),
    (_QUESTION_START, None),
    (_QUESTION_MARK, None),
    (_QUESTION, None),
    (_PRAISE, _PRAISE_EMOJI),
    (_NEGATED_PRAISE, None),
)

# Non-ASCII characters that ``re.IGNORECASE`` matches with an ASCII letter, where ``str.lower``
# would not give that letter (U+0130 would even become two characters).
_TO_ASCII = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_TO_ASCII_TABLE = str.maketrans(_TO_ASCII)


def fold_case(text: str) -> str:
    """Lowercase ``text`` so that case-sensitive lowercase rules match it exactly where the
    same rules with ``re.IGNORECASE`` match the original (same length, same positions)."""
    if not text.isascii() and any(c in text for c in _TO_ASCII):
        text = text.translate(_TO_ASCII_TABLE)
    return text.lower()


def _compile() -> _Rules:
    patterns = []
    for alternatives, emoji in _RULES:
        for alt in alternatives:
            if re.search(r"(?<!\\)[A-Z]", alt):
                raise ValueError(f"intent rules are written lowercase: {alt!r}")
        emoji_rx = re.compile(emoji) if emoji else None
        patterns.append(_Rule(re.compile(_trie(alternatives)), emoji_rx))
    return _Rules(fold_case, *patterns)


def reference_rules() -> _Rules:
    """The rules as a plain case-insensitive alternation: slow, obviously right (for tests)."""
    patterns = []
    for alternatives, emoji in _RULES:
        parts = [*alternatives, emoji] if emoji else list(alternatives)
        patterns.append(_Rule(re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)))
    return _Rules(lambda text: text, *patterns)


_FAST = _compile()


def _confidence(cues: int) -> float:
    return round(min(0.95, 0.55 + 0.15 * cues), 2)


def _body(text: str) -> str:
    """The post without handles, hashtags and links, its spaces collapsed."""
    if "@" in text or "#" in text or "http" in text or "__" in text or "link" in text:
        text = _MENTION_OR_LINK.sub(" ", text)
    return " ".join(text.split())


def classify_intent(text: str, rules: _Rules = _FAST) -> Prediction:
    """The intent of one post (English cue phrases; other languages mostly fall to ``other``)."""
    raw = _body(text)
    if _LETTERS.search(raw) is None:
        return Prediction("other", 0.9)
    body = rules.fold(raw)
    if n := rules.suggestion.count(body):
        return Prediction("suggestion", _confidence(n))
    strong = rules.complaint.count(body)
    complaint = strong + 0.5 * rules.weak_complaint.count(body)
    if complaint < 1 and (n := rules.purchase.count(body)):
        return Prediction("purchase", _confidence(n))
    praise = rules.praise.count(body)
    if praise and rules.negated_praise.phrases.search(body):
        praise = 0
    if praise and praise >= complaint:
        return Prediction("praise", _confidence(praise))
    asked = rules.question.count(body)
    if strong >= 1 or (complaint >= 1 and not asked):
        return Prediction("complaint", _confidence(round(complaint)))
    marks = rules.question_mark.count(body)
    # "What a day!", "WHAT IN THE WORLD?!": a question word that opens an exclamation
    opens = rules.question_start.phrases.match(body) and (marks or "!" not in body)
    question = asked + marks + (1 if opens else 0)
    if complaint and not question:
        return Prediction("complaint", _confidence(round(complaint)))
    if question:
        return Prediction("question", _confidence(question))
    return Prediction("other", 0.5)


def classify_intents(texts: Sequence[str]) -> list[Prediction]:
    """The intent of each post, in order."""
    return [classify_intent(t) for t in texts]
