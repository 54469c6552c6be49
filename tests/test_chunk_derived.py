"""What a chunk derives from its fields (embedded text, key, numbered lines) is made once and changes nothing else."""

from __future__ import annotations

import dataclasses

from indexer.index_files import chunk_to_json
from indexer.models import Chunk
from indexer.text_keys import text_key


def test_derived_values_are_kept_but_never_part_of_equality_hash_or_json() -> None:
    chunk = Chunk("c1", "a.md", ("S3", "Durability"), 3, 5, "eleven nines\nof durability", (3, 5))
    twin = Chunk("c1", "a.md", ("S3", "Durability"), 3, 5, "eleven nines\nof durability", (3, 5))
    before = (hash(chunk), chunk_to_json(chunk), repr(chunk))
    assert chunk.embed_text() == "S3 > Durability\neleven nines\nof durability"
    assert chunk.text_key() == text_key(chunk.embed_text())
    assert chunk.numbered_lines() == ((3, "eleven nines"), (5, "of durability"))
    assert chunk.embed_text() is chunk.embed_text() and chunk.numbered_lines() is chunk.numbered_lines()
    assert (hash(chunk), chunk_to_json(chunk), repr(chunk)) == before
    assert chunk == twin and hash(chunk) == hash(twin) and {chunk: 1}[twin] == 1
    moved = dataclasses.replace(chunk, heading=("Glacier",))  # a new chunk derives its own values
    assert moved.embed_text() == "Glacier\neleven nines\nof durability" and moved.text_key() != chunk.text_key()
    plain = Chunk("c2", "b.md", (), 1, 2, "one\ntwo")
    assert plain.embed_text() == "one\ntwo" and plain.numbered_lines() == ((1, "one"), (2, "two"))
