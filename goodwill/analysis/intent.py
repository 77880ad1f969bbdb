"""What the author wants: question, complaint, praise, suggestion, purchase intent, or other.

A hand-built rule set over English cue phrases, written on the ``tune`` half of our labelled
development set (benchmarks/data/intent_dev_labels.csv) and measured on the ``test`` half.
Rules, not a learned model, because no labelled intent corpus of social posts is available to
us and rules are easy to read, fix and extend; questions and complaints decide what enters the
inbox, so the rules lean towards catching them (recall) over being sure (precision).

The first matching rule wins, in this order: suggestion, purchase, complaint, question, praise,
other. ``confidence`` grows with the number of cues found; it is a ranking aid, not a
calibrated probability.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from goodwill.analysis.types import Prediction
from goodwill.domain import INTENT_LABELS

__all__ = ["INTENTS", "classify_intents"]

INTENTS = INTENT_LABELS


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_SUGGESTION = _rx(
    r"\byou (?:guys |all |really )?(?:should|need to|ought to) (?:add|make|offer|have|bring|"
    r"get rid|let|allow|start|consider|introduce|stop|fix|give|do)\b",
    r"\b(?:should|needs? to|need) (?:add|offer|bring back|allow|introduce|have an? option)\b",
    r"\bit would be (?:nice|great|awesome|cool|good|helpful|amazing) (?:if|to)\b",
    r"\bwould(?:n'?t| not)? (?:it )?be (?:nice|great|awesome|cool) if\b",
    r"\b(?:any|are there) plans? (?:to|for|on)\b",
    r"\bany chance (?:of|you(?:'ll| will| could)?) (?:add|start|offer|bring|get|open|expand)",
    r"\bwill you (?:expand|add|start|offer|bring|ever)\b",
    r"\bwhen will you (?:join|add|start|offer|bring)\b",
    r"\bplease (?:add|bring back|consider|make it|introduce|allow)\b",
    r"\bcan you (?:please )?(?:make it|add an?|add the|make (?:an?|the) option)\b",
    r"\bcan you make (?:it )?easier\b",
    r"\bfeature request\b",
    r"\b(?:needs?|want|would love) (?:a|an|the|more) (?:feature|option|setting)\b",
    r"\bi wish (?:you|there was|there were|it)\b",
    r"\b(?:would|'d) love (?:to see|it if|if you)\b",
    r"\bwhy not (?:add|offer|make|have)\b",
    r"\bhow about (?:adding|offering|a |an )\b",
    r"\bneeds? (?:2|to) end\b",
    r"\bneed more (?:details|options|choices)\b",
    r"\bsuggestion\b",
    r"\btell your \w+(?: \w+)? to\b",
    r"\bwhere you at\b",
)

_PURCHASE = _rx(
    r"\b(?:want|wanting|going|planning|plan|looking|thinking|hoping|about|ready|need|trying)"
    r" (?:to|of|on|about) (?:buy|buying|purchase|purchasing|book|booking|order|ordering|"
    r"upgrade|upgrading|subscribe|subscribing|sign up|signing up|switch|switching|get a new|"
    r"transfer (?:my )?status|do a mileage run)\b",
    r"\bhow (?:do|can|would) (?:i|we) (?:go about )?(?:buy|purchase|book|order|upgrade|"
    r"subscribe|sign up|get a quote)\b",
    r"\bhow (?:do|would) (?:i|we) (?:go|do) about buying\b",
    r"\bwhere (?:can|do) (?:i|we) (?:buy|purchase|order|get one)\b",
    r"\b(?:do|does) (?:the )?(?:plus|premium|pro|business|family|unlimited)(?: plan| version)?"
    r" (?:allow|include|come|have|offer|support)\b",
    r"\bhow much (?:is|are|does|do|for|would)\b",
    r"\bin bulk\b",
    r"\b(?:award|reward|saver)s? (?:will )?open up\b",
    r"\bmileage run\b",
    r"\b(?:is|are) (?:it|they|this|these) (?:still )?(?:available|in stock)\b",
    r"\bcan (?:i|we) (?:pre-?order|buy|purchase)\b",
    r"\bdiscount on my\b",
    r"\blower (?:ticket )?prices so i can\b",
    r"\bsell me\b",
    r"\bwill get our (?:biz|business)\b",
)

# Something went wrong, or the author is unhappy: the inbox's first business. Strong cues say so
# alone; weak ones (negations, waiting times) count half, so that "can I change my flight next
# week?" stays a question.
_COMPLAINT = _rx(
    r"\b(?:delay(?:ed|s)?|cancell?(?:ed|ing)|stuck|stranded|missed|lost|missing|broken|"
    r"damaged|wrong|error|bug(?:gy|s)?|crash(?:es|ed|ing)?|freez(?:es|ing)|fault(?:y)?|"
    r"problems?|issues?|trouble|hacked|compromised|locked out|logged out|scam(?:s|mers)?|"
    r"fraud|phishing|spam|overcharg\w*|charg(?:ed|ing) me|refund|compensat\w*|on hold|"
    r"no response|no reply|no answer|ignored?|messed up|not working|doesn'?t work|"
    r"won'?t (?:load|work|let|open|play|start)|stopped working|nothing works|down)\b",
    r"\b(?:worst|terrible|horrible|awful|ridiculous|unacceptable|disappoint\w*|frustrat\w*|"
    r"annoy\w*|angry|furious|upset|pathetic|useless|pointless|rude|incompetent|shame\w*|"
    r"disgust\w*|joke|nonsense|mess|shambles|lousy|sucks?|suck(?:ed|ing)|crap|shit\w*|fuck\w*|"
    r"wtf|smh|ugh|lame|fail(?:ed|ing|s)?|downhill|irritat\w*|worse|bad|poor|nightmare|"
    r"never again|done with|last time|liars?|lies|evil|scum|ashamed|unbearable|ruin\w*|"
    r"destroy\w*|excuses|impossible|zero stars|slap in the face)\b",
    r"(?:\bfix (?:it|this|your|the|my)\b|\bplease (?:help|resolve|fix|refund)\b|\bhelp!|"
    r"\bneed (?:your )?help\b|\bhelp (?:me|us|plz|please|needed)\b|\bcan you (?:please )?"
    r"(?:help|assist)\b|\bany help\b|\bsort (?:it|this) out\b|\bget it together\b|"
    r"\bwhat(?:'s| is|s) (?:going on|up with|the (?:hold ?up|delay|issue|problem))\b|"
    r"\bwhat happened\b|\bhow come\b|\bwhy (?:is|are|does|do|did|can'?t|won'?t|would|am|"
    r"was|has|have|the hell|on earth)\b)",
    r"[😡😠🤬😤😒🙄😩😫😭😢☹😞😑🤦]",
)
_WEAK_COMPLAINT = _rx(
    r"\b(?:not|never|nothing|isn'?t|aren'?t|wasn'?t|weren'?t|doesn'?t|don'?t|didn'?t|won'?t|"
    r"can'?t|cannot|couldn'?t|wouldn'?t|haven'?t|hasn'?t|unable to|no longer|refuses? to|"
    r"failed to|keeps?|still|again|waiting|waited|hours?|days?|weeks?|months?|late|sad|slow"
    r"(?:er)?)\b",
    r"(?:\bcant\b|\bwont\b|\bdont\b|\bdidnt\b|\bdoesnt\b|\bisnt\b|\bhavent\b)",
)

_QUESTION_START = _rx(
    r"^(?:how|what|when|where|why|who|which|whats|is|are|do|does|did|can|could|will|would|"
    r"should|shall|may|any|anyone|anybody|has|have)\b",
)
_QUESTION = _rx(
    r"\?",
    r"\b(?:i was wondering|i wonder(?:ed)? if|quick question|a question|is there (?:a|any) ?way|"
    r"can you tell me|could you tell me|please (?:tell|let) me know|please advise|"
    r"i(?:'d| would) like to know|want to know|need to know|how (?:do|can|to) (?:i|we|you)?)\b",
)

_PRAISE = _rx(
    r"\b(?:thank(?:s| you)(?: to)? (?:for|so much|very much|again|a lot|guys|team)|thx for|"
    r"many thanks|"
    r"much appreciated|appreciate (?:it|you|the)|love(?:d|s)? (?:you|it|your|the|this|how|my|"
    r"that|our)|i love|we love|(?:great|excellent|amazing|awesome|fantastic|outstanding|"
    r"wonderful|stellar|superb|brilliant|perfect|exceptional|fabulous) (?:job|service|"
    r"customer service|experience|staff|crew|team|flight|work|update|support|help|food|"
    r"people|trip)|best (?:customer service|airline|service|flight|ever|experience)|"
    r"shout ?out|kudos|props (?:to|are)|compliments|well done|good job|nice work|bravo|"
    r"a blessing|delicious|delightful|yummy|you rock|rock star|above and beyond|"
    r"game changer|the best|made my day|is amazing|are amazing|was amazing|so good|"
    r"love\b|#\w*love\w*|awesome|brilliant|excellent|amazing|fantastic|wonderful|"
    r"great (?:update|trip|flights?)|god bless|blessed|a\+)",
    r"[😍🥰❤♥💙💕👏🙌👌😋]",
)
_NEGATED_PRAISE = _rx(
    r"\b(?:not|never|no|n'?t) (?:so |very |that |really )?(?:great|good|"
    r"positive|amazing|awesome|excellent|best)\b"
)
_MENTION_OR_LINK = re.compile(r"(?:[@#]\w+|https?://\S+|__\w+__|\blink\b)")
_SPACE = re.compile(r"\s+")
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in pattern.finditer(text))


def _confidence(cues: int) -> float:
    return round(min(0.95, 0.55 + 0.15 * cues), 2)


def classify_intent(text: str) -> Prediction:
    """The intent of one post (English cue phrases; other languages mostly fall to ``other``)."""
    body = _SPACE.sub(" ", _MENTION_OR_LINK.sub(" ", text)).strip()
    if len(_LETTERS.findall(body)) == 0:
        return Prediction("other", 0.9)
    if n := _count(_SUGGESTION, body):
        return Prediction("suggestion", _confidence(n))
    complaint = _count(_COMPLAINT, body) + 0.5 * _count(_WEAK_COMPLAINT, body)
    praise = _count(_PRAISE, body) if not _NEGATED_PRAISE.search(body) else 0
    if (n := _count(_PURCHASE, body)) and complaint < 1:
        return Prediction("purchase", _confidence(n))
    if praise and praise >= complaint:
        return Prediction("praise", _confidence(praise))
    question = _count(_QUESTION, body) + (1 if _QUESTION_START.search(body) else 0)
    if complaint >= 1 or (complaint and not question):
        return Prediction("complaint", _confidence(round(complaint)))
    if question:
        return Prediction("question", _confidence(question))
    return Prediction("other", 0.5)


def classify_intents(texts: Sequence[str]) -> list[Prediction]:
    """The intent of each post, in order."""
    return [classify_intent(t) for t in texts]
