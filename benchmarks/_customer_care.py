"""Customers' own messages from the three customer-care data sets, by (dataset, id).

The intent development set (``data/intent_dev_labels.csv``) stores only these keys and our
labels; the texts are read here, in place, from ../shared/data (never copied into the repo).

- ``twcs``: inbound tweets of ``twcs/twcs_head5000_part_A.csv``, keyed by ``tweet_id``.
- ``twacs``: the customer's opening message of each TwACS airline conversation, keyed by
  ``first_tweet_id`` (the first row wins where an id repeats), speaker markers removed.
- ``ibm``: every customer turn of ``ibm_twitter_customer_care/dev.json``, keyed by ``tweet_ID``.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys

from _corpus import DATA

__all__ = ["DATASETS", "load_messages", "sample_keys"]

DATASETS = ("twcs", "twacs", "ibm")
_TURN = re.compile(r"<(cust|rep)__(.*?)__(?:cust|rep)>", re.S)
_SPACES = re.compile(r"\s+")

csv.field_size_limit(sys.maxsize)


def _twcs() -> dict[str, str]:
    path = DATA / "twcs" / "twcs_head5000_part_A.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {r["tweet_id"]: r["text"] for r in csv.DictReader(f) if r["inbound"] == "True"}


def _twacs() -> dict[str, str]:
    path = DATA / "twacs_airlines" / "airlines_raw_unlabeled.csv"
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            m = _TURN.search(r["first_utterance"])
            text = m.group(2) if m else r["first_utterance"]
            text = _SPACES.sub(" ", text).strip()
            if text:
                out.setdefault(r["first_tweet_id"], text)
    return out


def _ibm() -> dict[str, str]:
    path = DATA / "ibm_twitter_customer_care" / "dev.json"
    if not path.is_file():
        return {}
    out = {}
    for conv in json.loads(path.read_text(encoding="utf-8")):
        for turn in conv["dialogContent"]:
            if "client" in turn and turn.get("message"):
                out[str(turn["tweet_ID"])] = turn["message"]
    return out


def load_messages() -> dict[str, dict[str, str]]:
    """dataset → id → text; a data set that is absent maps to an empty dict."""
    return {"twcs": _twcs(), "twacs": _twacs(), "ibm": _ibm()}


def sample_keys(
    messages: dict[str, dict[str, str]], per_dataset: dict[str, int], seed: int
) -> list[tuple[str, str]]:
    """A seeded random sample of (dataset, id), ``per_dataset[name]`` from each."""
    rng = random.Random(seed)
    keys = []
    for name in DATASETS:
        ids = sorted(messages[name], key=lambda i: (len(i), i))
        keys += [(name, i) for i in rng.sample(ids, per_dataset[name])]
    return keys
