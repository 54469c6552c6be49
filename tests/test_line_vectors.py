"""Line vectors pooled from their chunks' vectors instead of a second pass of the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.build import build_index
from indexer.index_files import load_index, read_line_rows
from indexer.line_vectors import line_key, line_sources, pool_all
from indexer.model_files import ModelInfo
from indexer.models import Chunk, LineText
from indexer.text_keys import text_key

from .conftest import small_settings
from .fakes import FakeEmbedder, WordCounter

LONG = " ".join(f"word{i} fact{i % 7}" for i in range(60))  # one line, over one 64-token chunk
NOTE = f"# Topic\n\n{LONG}\n\n## Bullets\n\n- short fact one\n- short fact two\n- short fact three\n"


def chunk(index: int, text: str, numbers: tuple[int, ...], path: str = "a.md") -> Chunk:
    return Chunk(f"c{index}", path, ("A",), numbers[0], numbers[-1], text, numbers)


def test_a_line_cut_over_chunks_is_pooled_from_all_of_them_and_short_lines_are_not() -> None:
    chunks = [
        chunk(0, "first half of a long line", (3,)),
        chunk(1, "second half", (3,)),
        chunk(2, "- one\n- two fact that is longer", (5, 6)),
    ]
    rows = [LineText("a.md", 3, "A\nwhole"), LineText("a.md", 5, "A\n- one"), LineText("a.md", 6, "A\n- two")]
    sources = line_sources(chunks, rows)
    assert sources[0] == ((0, len("first half of a long line")), (1, len("second half")))
    assert sources[1] == ()  # a short line among others: embedded on its own
    assert sources[2] == ((2, len("- two fact that is longer")),)  # over 75% of its only chunk
    assert line_sources(chunks, rows, share=0.9)[2] == ()
    assert line_sources(chunks, [LineText("b.md", 3, "elsewhere")]) == [()]


def test_pool_is_the_weighted_unit_mean_and_keys_never_collide_with_embedded_lines() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    pooled = pool_all(vectors, [((0, 3), (1, 1))])[0]
    assert np.allclose(pooled, np.array([3.0, 1.0]) / np.linalg.norm([3.0, 1.0]))
    assert pooled.dtype == np.float32
    chunks = [chunk(0, "x", (1,)), chunk(1, "y", (1,))]
    row = LineText("a.md", 1, "A\nx")
    assert line_key(row, (), chunks) == text_key(row.text)
    keyed = line_key(row, ((0, 1),), chunks)
    assert keyed != text_key(row.text)
    assert keyed != line_key(row, ((1, 1),), chunks)  # other chunks: another vector, another key


def test_a_build_pools_long_lines_embeds_short_ones_and_stays_exact_incrementally(
    tmp_path: Path, fake_model: ModelInfo
) -> None:
    settings = small_settings(tmp_path, {"a.md": NOTE, "b.md": "# Other\n\n- unrelated line\n"})

    def build(**kw: object) -> FakeEmbedder:
        embedder = FakeEmbedder()
        build_index(settings, embedder=embedder, token_counter=WordCounter(), model=fake_model, **kw)  # type: ignore[arg-type]
        return embedder

    first = build()
    index = load_index(settings.index_dir)
    folder = index.folder
    rows = read_line_rows(folder)
    long_row = next(i for i, r in enumerate(rows) if (r.path, r.line) == ("a.md", 3))
    holders = [i for i, c in enumerate(index.chunks) if c.path == "a.md" and 3 in dict(c.numbered_lines())]
    assert len(holders) >= 2  # the long line really is cut over chunks
    chunk_vectors = index.store.vectors()
    weights = [sum(len(t) for n, t in index.chunks[i].numbered_lines() if n == 3) for i in holders]
    expected = pool_all(chunk_vectors, [tuple(zip(holders, weights))])[0]
    assert np.allclose(index.line_vectors[long_row], expected, atol=1e-6)
    assert not any(text.endswith(LONG) for text in first.seen)  # never embedded on its own
    short = next(i for i, r in enumerate(rows) if (r.path, r.line) == ("a.md", 7))
    assert rows[short].key == text_key("Topic > Bullets\n- short fact one")

    (settings.corpus_dir / "b.md").write_text("# Other\n\n- unrelated line, edited\n")
    build()
    incremental = load_index(settings.index_dir)
    build(full=True)
    full = load_index(settings.index_dir)
    assert (incremental.line_vectors == full.line_vectors).all()
    assert [r.key for r in read_line_rows(incremental.folder)] == [r.key for r in read_line_rows(full.folder)]


def test_pool_all_gives_each_line_what_pooling_it_alone_gives() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 16)).astype(np.float32)
    sources = [tuple((int(i), int(rng.integers(1, 500))) for i in rng.choice(40, size=int(rng.integers(1, 5)),
                                                                             replace=False)) for _ in range(60)]
    together = pool_all(vectors, sources)
    assert together.shape == (60, 16) and together.dtype == np.float32
    for row, held in zip(together, sources):  # the weighted mean, made unit length, one line at a time
        weights = np.array([chars for _, chars in held], dtype=np.float64)
        mean = (vectors[[i for i, _ in held]].astype(np.float64) * weights[:, None]).sum(axis=0)
        assert np.allclose(row, (mean / np.linalg.norm(mean)).astype(np.float32), rtol=1e-6, atol=1e-7)
    assert np.array_equal(pool_all(vectors, [sources[7]])[0], together[7])  # alone or among others: the same
    assert pool_all(vectors, []).shape == (0, 16)
    zero = np.zeros((1, 16), dtype=np.float32)
    assert not pool_all(zero, [((0, 2),)]).any()  # a zero vector stays zero instead of dividing by 0
