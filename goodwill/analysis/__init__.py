"""Understanding posts: sentiment, intent, risk and language, run offline."""
