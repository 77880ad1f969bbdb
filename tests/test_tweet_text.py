"""Tweets are normalised as TweetEval writes them, in training and at inference alike."""

from __future__ import annotations

from goodwill.analysis.tweet_text import comparison_key, normalise_tweet


def test_normalise_tweet_as_tweeteval() -> None:
    assert normalise_tweet("@Acme_Help thanks!! https://t.co/abc www.x.com/y") == (
        "@user thanks!! http http"
    )
    assert normalise_tweet("me&amp;you  it\\u2019s   fine\n") == "me&you it’s fine"
    assert normalise_tweet("mail me at a@b.com") == "mail me at a@b.com"


def test_comparison_key_matches_tweeteval_copies() -> None:
    semeval = "Gas by my house hit $3.39!!!! I\\u2019m going to Chapel Hill @bob http://t.co/x"
    tweeteval = '"Gas by my house hit $3.39!!!! I’m going to Chapel Hill @user "'
    assert comparison_key(semeval) == comparison_key(tweeteval)
    assert comparison_key("good day") != comparison_key("bad day")
