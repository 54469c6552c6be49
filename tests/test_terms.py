"""The one tokenizer: BM25 terms pinned (saved indexes depend on them), a stemmer per thread."""

from __future__ import annotations

import threading

from indexer.terms import SPAN_WORD, STOPWORDS, stem, stemmer, terms, words


def test_bm25_terms_are_pinned() -> None:
    # Changing these changes every saved keyword index and score: the index would need a rebuild.
    assert terms("Don't cache v1.2's S3 buckets; the running Caches don’t") == [
        "don't", "cach", "v1.2", "s3", "bucket", "run", "cach", "don", "t"]
    assert terms("the and of") == []
    assert {"the", "and", "what", "how"} <= STOPWORDS


def test_snippet_words_also_join_the_typographic_apostrophe() -> None:
    assert words("don’t v1.2") == ["don", "t", "v1.2"]
    assert SPAN_WORD.findall("don’t v1.2") == ["don’t", "v1.2"]
    assert stem("Buckets") == "bucket"


def test_each_thread_has_its_own_stemmer() -> None:
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.extend([stemmer(), stemmer()]))
    worker.start()
    worker.join()
    assert seen[0] is seen[1]  # kept for the thread's life
    assert stemmer() is stemmer() and stemmer() is not seen[0]  # never shared between threads
