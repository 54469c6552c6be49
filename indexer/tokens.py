"""Count word pieces exactly as the embedding model's tokenizer does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from .errors import ModelError


class TokenCounter(Protocol):
    """Counts tokens of texts, special tokens ([CLS], [SEP]) included, untruncated."""

    def count(self, texts: Sequence[str]) -> list[int]: ...


class HFTokenCounter:
    """Uses the model's own ``tokenizer.json`` through the ``tokenizers`` library."""

    def __init__(self, tokenizer_json: Path) -> None:
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_json))
        except Exception as exc:  # tokenizers raises its own Exception type
            raise ModelError(
                f"cannot read the tokenizer {tokenizer_json}: {exc}", fix="pass --model a sentence-transformers model folder"
            ) from exc
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts))
        return [len(encoding.ids) for encoding in encodings]
