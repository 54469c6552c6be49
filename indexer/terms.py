"""Words, stop words and stems: one tokenizer for keyword search, snippets and the match flag.

Two word patterns, on purpose: ``BM25_WORD`` is what the saved BM25 indexes were
built with (changing it changes every keyword score, so it stays as it is);
``SPAN_WORD`` is what snippets highlight and score lines with, and also joins
words at the typographic apostrophe (’) that notes use ("don’t" is one word).

PyStemmer's stemmers must not be shared across threads (its documentation says
so), and the app, the MCP server and the watcher search from worker threads:
each thread gets its own (``stemmer()``).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

# A small English stop-word list (NLTK's, trimmed). Kept here so that queries do
# not import bm25s to get one.
STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves"]
)
#: A word of the BM25 index: letters and digits, joined by "." or "'" (v1.2, don't).
BM25_WORD = re.compile(r"[\w]+(?:[.'][\w]+)*", re.UNICODE)
#: A word as snippets see it: also joined by the typographic apostrophe (’).
SPAN_WORD = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)

_local = threading.local()


def stemmer() -> Any:
    """This thread's English Snowball stemmer (PyStemmer; loaded on first use)."""
    found = getattr(_local, "stemmer", None)
    if found is None:
        import Stemmer

        found = _local.stemmer = Stemmer.Stemmer("english")
    return found


def words(text: str) -> list[str]:
    """Lower-cased BM25 words of ``text`` (with their positions dropped)."""
    return [w.lower() for w in BM25_WORD.findall(text)]


def terms(text: str) -> list[str]:
    """The BM25 terms of a text: lower-cased words, stop words removed, stemmed."""
    kept = [w for w in words(text) if w not in STOPWORDS]
    return list(stemmer().stemWords(kept)) if kept else []


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of one word, lower-cased first."""
    return str(stemmer().stemWord(word.lower()))
