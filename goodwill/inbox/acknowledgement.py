"""A short thank-you after the brand's answer is not a new request.

"thanks @Brand!" mentions the brand, and a mention of the brand asks for an answer. But when it
comes after the brand answered, it closes the exchange; reopening the conversation for it would
fill the inbox with threads nobody needs to touch, and answering every thanks with a thanks is
exactly the canned behaviour the seeds warn against. So a customer's post after the brand's
first post in the thread does not reopen it when it is short (at most ``MAX_WORDS`` words
besides mentions and links), starts with thanks or an acknowledgement, asks nothing (no "?"),
has no word of contrast or trouble ("but", "still", "not", ...), and its sentiment is not
negative. Questions and complaints are checked first, by intent, in ``threads``.
"""

from __future__ import annotations

import re

__all__ = ["MAX_WORDS", "is_acknowledgement"]

MAX_WORDS = 12
_MENTION = re.compile(r"(?<![\w])@[\w.@-]+")
_LINK = re.compile(r"https?://\S+")
_WORD = re.compile(r"[^\W_]+")
_ACK = re.compile(
    r"^(?:thanks?|thank you|thankyou|thx|ty|tysm|cheers|merci|gracias|danke|obrigad[oa]|"
    r"great|perfect|awesome|brilliant|wonderful|lovely|nice|cool|excellent|fantastic|amazing|"
    r"ok|okay|got it|will do|sounds good|appreciate|appreciated|much appreciated|"
    r"you re the best|you are the best|love it|all good|that helps|that helped)\b"
)
_TROUBLE = frozenset(
    [
        "but",
        "however",
        "still",
        "not",
        "no",
        "never",
        "nt",
        "doesn",
        "didn",
        "isn",
        "wasn",
        "won",
        "cannot",
        "can",
        "t",
        "problem",
        "issue",
        "again",
        "wrong",
        "broken",
        "refund",
    ]
)


def is_acknowledgement(text: str, sentiment: str | None) -> bool:
    """Whether ``text`` only thanks or acknowledges (see the module's docstring)."""
    if sentiment == "negative":
        return False
    body = _LINK.sub(" ", _MENTION.sub(" ", text))
    if "?" in body:
        return False
    words = [w.casefold() for w in _WORD.findall(body)]
    if len(words) > MAX_WORDS or _TROUBLE.intersection(words):
        return False
    if not words:  # only mentions and emoji (🙏, 👍, ❤️)
        return True
    return _ACK.match(" ".join(words)) is not None
