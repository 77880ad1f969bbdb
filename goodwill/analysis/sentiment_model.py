"""Tweet sentiment (negative / neutral / positive) from a fine-tuned MiniLM run with onnxruntime.

The model files ship inside the package (models/sentiment/: an int8 ONNX graph, the tokenizer
and a small meta.json written by training/train_sentiment.py), so analysis works offline with
no torch and no model hub. Posts are normalised as in training (mentions -> @user, links ->
http) and scored in length-sorted batches so padding, the main waste on short posts, stays small.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from goodwill.analysis.tweet_text import normalise_tweet
from goodwill.analysis.types import Prediction

__all__ = ["MODEL_DIR", "SentimentModel"]

MODEL_DIR = Path(__file__).resolve().parent / "models" / "sentiment"
DEFAULT_BATCH = 32


class SentimentModel:
    """A loaded sentiment model; thread-safe for predict (onnxruntime sessions are)."""

    def __init__(
        self, session: ort.InferenceSession, tokenizer: Tokenizer, labels: Sequence[str]
    ) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.labels: tuple[str, ...] = tuple(labels)

    @classmethod
    def load(cls) -> SentimentModel:
        """The model shipped with Goodwill, loaded once per process (one CPU thread)."""
        return _shipped()

    @classmethod
    def from_dir(cls, path: Path, threads: int = 1) -> SentimentModel:
        """A model from a folder holding model.onnx, tokenizer.json and meta.json."""
        missing = [
            n for n in ("model.onnx", "tokenizer.json", "meta.json") if not (path / n).is_file()
        ]
        if missing:
            raise FileNotFoundError(f"sentiment model folder {path} lacks {', '.join(missing)}")
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(int(meta["max_length"]))
        tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(
            str(path / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        return cls(session, tokenizer, meta["labels"])

    def predict(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> list[Prediction]:
        """One prediction per text, in order; texts of similar length are batched together."""
        if isinstance(texts, str):
            raise TypeError("predict takes a sequence of texts, not one string")
        encodings = self._tokenizer.encode_batch([normalise_tweet(t) for t in texts])
        ids = [e.ids for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        results: list[Prediction | None] = [None] * len(ids)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(ids[i]) for i in batch)
            input_ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            (logits,) = self._session.run(
                ["logits"], {"input_ids": input_ids, "attention_mask": mask}
            )
            probs = _softmax(np.asarray(logits, dtype=np.float64))
            for row, i in enumerate(batch):
                best = int(probs[row].argmax())
                results[i] = Prediction(self.labels[best], float(probs[row, best]))
        return [r for r in results if r is not None]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def _shipped() -> SentimentModel:
    return SentimentModel.from_dir(MODEL_DIR)
