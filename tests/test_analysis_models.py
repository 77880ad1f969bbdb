"""The analysis models on real-looking posts: sentiment (VADER), intent rules, risk model."""

from __future__ import annotations

import importlib.util

import pytest

from goodwill.analysis._linear_text import char_wb_ngrams, normalise_tweet, word_ngrams
from goodwill.analysis.engine import AnalysisUnavailable, TextAnalyzer, check_sentiment_mode
from goodwill.analysis.intent import classify_intent
from goodwill.analysis.risk import RiskModel
from goodwill.analysis.types import Prediction
from goodwill.analysis.vader import VaderSentiment, label_compound


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Absolutely love the new sourdough, best bakery in town! 😍", "positive"),
        ("Worst service ever. My order arrived cold and two hours late.", "negative"),
        ("The shop opens at 8 on Saturdays.", "neutral"),
    ],
)
def test_vader_labels_clear_cases(text: str, label: str) -> None:
    (pred,) = VaderSentiment.load().predict([text])
    assert isinstance(pred, Prediction)
    assert pred.label == label
    assert 0.5 <= pred.confidence <= 1.0


def test_vader_confidence_follows_the_compound_score() -> None:
    assert label_compound(0.9) == Prediction("positive", 0.95)
    assert label_compound(-0.05).label == "negative"
    assert label_compound(0.0) == Prediction("neutral", 1.0)
    assert label_compound(0.04).confidence < label_compound(0.0).confidence


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("@Delta How early can I check in my bags for a 4:35pm flight from FLL?", "question"),
        ("@AskPlayStation do you have a way to gift a game to a friend?", "question"),
        ("@AmazonHelp my package never arrived and nobody answers. Ridiculous.", "complaint"),
        ("@XboxSupport my console keeps crashing after the update, please help", "complaint"),
        ("@SouthwestAir flight delayed 3 hours and no updates at the gate", "complaint"),
        (
            "@Delta excellent service from agent Kim today! Thank you for going above and beyond",
            "praise",
        ),
        ("I love you @ChipotleTweets", "praise"),
        ("@zoom_us you should get rid of the 40 min limit for teachers", "suggestion"),
        (
            "@Spotify it would be great if I could add songs to several playlists at once",
            "suggestion",
        ),
        ("@Dropbox how do I upgrade to Plus for my team?", "purchase"),
        ("@Delta Yes, GEX8LD", "other"),
        # complaints phrased as questions, and questions with weak complaint words (rules-2)
        ("@AdobeCare anyone else getting this flicker since the last update?", "complaint"),
        ("@united 50 minutes on the tarmac. How do you not have a gate?!", "complaint"),
        ("@Spotify when will offline mode be back? I pay for this", "complaint"),
        (
            "@AppleSupport quick question: can a closed iCloud address never be used again?",
            "question",
        ),
        ("@Tesco WHAT IN THE WORLD?!", "other"),
        ("@AppleSupport", "other"),
    ],
)
def test_intent_on_customer_messages(text: str, label: str) -> None:
    pred = classify_intent(text)
    assert pred.label == label, pred
    assert 0 < pred.confidence <= 1


def test_risk_flags_abuse_and_leaves_customer_talk_alone() -> None:
    model = RiskModel.load()
    abuse, hate, plain = model.predict(
        [
            "@user you are a fucking idiot, shut up",
            "send all these illegal immigrants back, they are invading us #buildthewall",
            "@user thanks, the replacement arrived today and works fine",
        ]
    )
    assert "offensive" in abuse.flags and abuse.offensive > 0.8
    assert "hate" in hate.flags
    assert plain.flags == () and plain.offensive < 0.5 and plain.hate < 0.5
    assert model.predict([]) == []


def test_risk_features_match_scikit_learn() -> None:
    text_mod = pytest.importorskip("sklearn.feature_extraction.text")
    texts = [
        normalise_tweet(t).lower()
        for t in [
            "@Brightloaf I  LOVE your croissants!!! https://t.co/x",
            "a b  c d é ü 日本語 #tag it's",
            "",
        ]
    ]
    word = text_mod.TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()
    char = text_mod.TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    for t in texts:
        assert word_ngrams(t) == word(t)
        assert char_wb_ngrams(t) == char(t)
    assert normalise_tweet("@Brightloaf see https://t.co/x") == "@user see http"


def test_analyzer_fills_every_field() -> None:
    (result,) = TextAnalyzer("vader").analyse(["@Brightloaf my bread was stale, not happy"])
    assert result["sentiment"]["label"] == "negative"
    assert result["intent"]["label"] == "complaint"
    assert set(result["risk"]) == {"offensive", "hate", "flags"}
    assert result["models"]["sentiment"] == "vader"
    assert TextAnalyzer("vader").analyse([]) == []


def test_model_mode_without_the_model_says_what_to_do() -> None:
    with pytest.raises(AnalysisUnavailable, match="unknown sentiment mode 'bert'"):
        check_sentiment_mode("bert")
    if importlib.util.find_spec("goodwill.analysis.sentiment_model") is not None:
        pytest.skip("the trained sentiment model is installed here")
    with pytest.raises(AnalysisUnavailable, match="GOODWILL_SENTIMENT=vader"):
        TextAnalyzer("model")
