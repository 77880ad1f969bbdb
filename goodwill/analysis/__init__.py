"""Understanding posts: sentiment, intent and risk (offensive or hateful content).

Floor 2: models and rules only, no I/O except reading the model files shipped in this package.
``engine.TextAnalyzer`` runs them all over a batch; the pipeline's analysis hook
(``goodwill.pipeline.analyse``) and ``goodwill analyze`` use it.
"""
