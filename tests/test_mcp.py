"""The MCP server: its tools with the fake embedder, the SDK in-process, and the real server over stdio."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from indexer.errors import CorpusError, UsageError
from indexer.live_index import LiveIndex
from indexer.mcp_tools import MAX_K, NotesTools
from indexer.model_files import ModelInfo
from indexer.note_reader import MAX_LINES
from indexer.settings import Settings

from .conftest import ROOT
from .fakes import FakeEmbedder, WordCounter

QUESTION = "How big can a DynamoDB item be?"


@pytest.fixture
def tools(notes_settings: Settings, fake_model: ModelInfo) -> NotesTools:
    live = LiveIndex(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model,
                     say=lambda _: None, racy_seconds=0)
    return NotesTools(notes_settings, live)


# --- the tools, without the protocol -------------------------------------------------------------


def test_search_builds_once_then_answers_with_lines(tools: NotesTools) -> None:
    answer = tools.search_notes("maximum item size 400KB", k=3)
    top = answer.hits[0]
    assert (top.rank, top.path, top.heading) == (1, "database.md", ("Database", "DynamoDB"))
    assert "Maximum size of an item is 400KB" in top.snippet
    assert 6 in top.snippet_lines and len(top.snippet_lines) == len(top.snippet.split("\n"))
    assert top.start_line <= 6 <= top.end_line
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    checks = tools.live.full_checks
    tools.search_notes("Memcached")
    assert tools.live.full_checks == checks  # unchanged notes: no full check, the index stays loaded


def test_filters_narrow_the_hits(tools: NotesTools) -> None:
    assert {h.path for h in tools.search_notes("replication", k=10, path="cache*").hits} == {"cache.md"}
    heads = {h.heading[-1] for h in tools.search_notes("replication", k=10, heading="rds").hits}
    assert heads == {"RDS"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": "  "}, "the question is empty"),
        ({"query": "x", "k": 0}, "-k must be at least 1"),
        ({"query": "x", "k": MAX_K + 1}, f"k must be at most {MAX_K}"),
        ({"query": "x", "mode": "fuzzy"}, "unknown mode 'fuzzy'; use one of: hybrid, dense, keyword"),
    ],
)
def test_bad_search_arguments_are_the_cli_errors(tools: NotesTools, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        tools.search_notes(**kwargs)
    assert message in raised.value.with_fix()  # what the tool error says: the message, then the fix


def test_an_edited_note_is_found_on_the_next_call(tools: NotesTools, notes_settings: Settings) -> None:
    assert not tools.search_notes("zeppelin hangar", mode="keyword").hits
    before = tools.live.loaded_folder
    with (notes_settings.corpus_dir / "storage.md").open("a", encoding="utf-8") as handle:
        handle.write("- Glacier stores zeppelin hangar backups\n")
    status = tools.index_status()
    assert (status.state, status.reason, status.loaded) == ("stale", "notes 1 changed", True)
    hits = tools.search_notes("zeppelin hangar", mode="keyword").hits
    assert hits and hits[0].path == "storage.md" and "zeppelin" in hits[0].snippet
    assert tools.live.loaded_folder != before
    assert tools.index_status().state == "fresh"


def test_a_rebuild_by_another_process_is_loaded(tools: NotesTools, notes_settings: Settings, fake_model: ModelInfo) -> None:
    from indexer.build import build_index

    tools.search_notes("S3")
    (notes_settings.corpus_dir / "queue.md").write_text("# Queue\n\n## SQS\n\n- visibility timeout hides messages\n")
    build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    hits = tools.search_notes("visibility timeout", mode="keyword").hits
    assert hits and hits[0].path == "queue.md"


def test_index_status_describes_the_index(tools: NotesTools) -> None:
    assert tools.index_status().state == "missing"
    tools.search_notes("S3")
    info = tools.index_status()
    assert (info.state, info.notes, info.model, info.encoder, info.loaded) == ("fresh", 3, "fake@ffffffffffff", "fp32", True)
    assert (info.precision, info.backend) == ("fp32", "fake")
    assert info.chunks and info.chunks > 0 and info.built_at and info.built_at.startswith("20")


def test_a_missing_corpus_is_the_cli_error(notes_settings: Settings, tools: NotesTools) -> None:
    shutil.rmtree(notes_settings.corpus_dir)
    with pytest.raises(CorpusError, match="does not exist") as caught:
        tools.search_notes("S3")
    assert caught.value.with_fix().endswith("does not exist; pass --corpus DIR or set NOTES_QA_CORPUS")


def test_read_note_gives_numbered_lines(tools: NotesTools) -> None:
    note = tools.read_note("database.md", 5, 6)
    assert [(line.number, line.text) for line in note.lines] == [
        (5, "- NoSQL key/value store"), (6, "- Maximum size of an item is 400KB")]
    assert (note.path, note.start_line, note.end_line, note.total_lines, note.truncated) == ("database.md", 5, 6, 13, False)
    whole = tools.read_note("./database.md")
    assert [line.number for line in whole.lines] == list(range(1, 14))


def test_read_note_numbers_lines_as_the_index_does(tools: NotesTools, notes_settings: Settings) -> None:
    (notes_settings.corpus_dir / "crlf.md").write_bytes(b"\xef\xbb\xbf# T\r\n\r\n- alpha line\r- omega quasar line\r\n")
    hit = tools.search_notes("omega quasar", mode="keyword").hits[0]
    assert hit.path == "crlf.md"
    assert tools.read_note("crlf.md", hit.snippet_lines[0], hit.snippet_lines[0]).lines[0].text == "- omega quasar line"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside.md", "leaves the corpus"),
        ("sub/../../outside.md", "leaves the corpus"),
        ("/etc/passwd.md", "absolute path"),
        ("link-out.md", "links outside the corpus"),
        ("dir-out/outside.md", "links outside the corpus"),
        (".hidden.md", "hidden"),
        ("notes.json", "is not a note"),
        ("nothing.md", "no such note"),
        ("pipe.md", "not a regular file"),
        ("binary.md", "looks binary"),
        ("", "give the note's path"),
        ("a\x00.md", "NUL"),
    ],
)
def test_read_note_refuses_what_is_not_a_note_of_the_corpus(tools: NotesTools, notes_settings: Settings,
                                                            path: str, message: str) -> None:
    corpus = notes_settings.corpus_dir
    outside = corpus.parent / "outside"
    outside.mkdir()
    (outside / "outside.md").write_text("# secret\n")
    (corpus.parent / "outside.md").write_text("# secret\n")
    (corpus / "link-out.md").symlink_to(outside / "outside.md")
    (corpus / "dir-out").symlink_to(outside)
    (corpus / ".hidden.md").write_text("# hidden\n")
    (corpus / "notes.json").write_text("{}")
    (corpus / "binary.md").write_bytes(b"\x00\x01\x02")
    os.mkfifo(corpus / "pipe.md")  # reading it would block: it must be refused without opening it for long
    with pytest.raises(UsageError, match=message):
        tools.read_note(path)
    with pytest.raises(UsageError, match="absolute path"):
        tools.read_note(str((corpus / "database.md").resolve()))  # even a note of the corpus, by absolute path


def test_read_note_links_inside_the_corpus_are_fine(tools: NotesTools, notes_settings: Settings) -> None:
    (notes_settings.corpus_dir / "alias.md").symlink_to("database.md")
    assert tools.read_note("alias.md", 6, 6).lines[0].text == "- Maximum size of an item is 400KB"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(0, None, "start_line must be at least 1"), (None, 0, "end_line must be at least 1"),
     (5, 4, "end_line 4 is before start_line 5"), (14, None, r"start_line 14 is past the end of database.md \(13 lines\)")],
)
def test_read_note_bad_ranges(tools: NotesTools, start: int | None, end: int | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        tools.read_note("database.md", start, end)


def test_read_note_is_bounded_and_survives_bad_bytes(tools: NotesTools, notes_settings: Settings) -> None:
    (notes_settings.corpus_dir / "long.md").write_text("".join(f"- line {i}\n" for i in range(1, MAX_LINES + 1001)))
    note = tools.read_note("long.md", 10)
    assert note.truncated and len(note.lines) == MAX_LINES and note.lines[-1].number == MAX_LINES + 9
    assert note.total_lines == MAX_LINES + 1001  # the text ends with a newline: one empty last line
    (notes_settings.corpus_dir / "latin1.md").write_bytes("# Caf\xe9\n- cr\xe8me\n".encode("latin-1"))
    bad = tools.read_note("latin1.md")
    assert bad.lines[0].text == "# Caf\ufffd" and bad.warnings and "not valid UTF-8" in bad.warnings[0]


# --- the SDK in-process: schemas, tool errors, the server keeps serving ---------------------------


def with_client(tools: NotesTools, body: Callable[[Any], Awaitable[None]]) -> None:
    from mcp import Client

    from indexer.mcp_server import build_server

    async def main() -> None:
        with anyio.fail_after(120):
            async with Client(build_server(tools)) as client:
                await body(client)

    anyio.run(main)


def test_tools_have_schemas_and_structured_results(tools: NotesTools) -> None:
    async def body(client: Any) -> None:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert set(listed) == {"search_notes", "read_note", "index_status"}
        search = listed["search_notes"]
        props = search.input_schema["properties"]
        assert search.input_schema["required"] == ["query"]
        assert props["mode"]["enum"] == ["hybrid", "dense", "keyword"] and props["k"]["minimum"] == 1
        hit_fields = set(search.output_schema["$defs"]["HitInfo"]["properties"])
        assert {"rank", "score", "path", "heading", "start_line", "end_line", "answer_line", "snippet"} <= hit_fields
        assert set(listed["read_note"].input_schema["properties"]) == {"path", "start_line", "end_line"}
        result = await client.call_tool("search_notes", {"query": "maximum item size 400KB", "k": 2})
        assert not result.is_error
        top = result.structured_content["hits"][0]
        assert top["path"] == "database.md" and "400KB" in top["snippet"]
        assert json.loads(result.content[0].text) == result.structured_content

    with_client(tools, body)


def test_errors_are_one_line_tool_errors_and_serving_goes_on(tools: NotesTools) -> None:
    async def body(client: Any) -> None:
        cases = [
            ("search_notes", {"query": "x", "mode": "fuzzy"}, "unknown mode 'fuzzy'; use one of: hybrid, dense, keyword"),
            ("search_notes", {"query": "x", "k": "many"}, "bad arguments for search_notes: k: Input should be a valid integer"),
            ("search_notes", {}, "bad arguments for search_notes: query: Field required"),
            ("read_note", {"path": "../x.md"}, "'../x.md' leaves the corpus"),
            ("no_such_tool", {}, "Unknown tool: no_such_tool"),
        ]
        for name, arguments, message in cases:
            result = await client.call_tool(name, arguments)
            text = result.content[0].text
            assert result.is_error and message in text and "\n" not in text, text
        ok = await client.call_tool("read_note", {"path": "database.md", "start_line": 6, "end_line": 6})
        assert not ok.is_error and ok.structured_content["lines"] == [{"number": 6, "text": "- Maximum size of an item is 400KB"}]

    with_client(tools, body)


def test_a_server_without_notes_says_so_on_each_call_and_keeps_serving(tmp_path: Path) -> None:
    """No model is loaded: the corpus check fails first. Also proves stdout holds protocol messages only."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {"NOTES_QA_CORPUS": str(tmp_path / "nowhere"), "NOTES_QA_INDEX": str(tmp_path / "index"),
           "NOTES_QA_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "notes_qa_cli", "mcp"], env=env)
    not_protocol: list[Exception] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            not_protocol.append(message)

    async def main() -> None:
        with (tmp_path / "server.log").open("w") as errlog, anyio.fail_after(300):
            async with stdio_client(params, errlog=errlog) as (read, write), \
                    ClientSession(read, write, message_handler=on_message) as session:
                await session.initialize()
                for _ in range(2):
                    result = await session.call_tool("search_notes", {"query": QUESTION})
                    assert result.is_error
                    assert result.content[0].text == (f"Error executing tool search_notes: corpus folder {tmp_path / 'nowhere'} "
                                                      "does not exist; pass --corpus DIR or set NOTES_QA_CORPUS")
                refused = await session.call_tool("read_note", {"path": "../../etc/passwd"})
                assert refused.is_error and "leaves the corpus" in refused.content[0].text

    anyio.run(main)
    assert not not_protocol
    log = (tmp_path / "server.log").read_text()
    assert "the index is not ready: corpus folder" in log and "Traceback" not in log


# --- the real server over stdio, with the real model ----------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def child_pids() -> list[int]:
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == me:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


@pytest.mark.model
def test_the_real_server_over_stdio(tmp_path: Path, model_cache: Path) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    env = {"NOTES_QA_CORPUS": str(tmp_path / "corpus"), "NOTES_QA_INDEX": str(tmp_path / "index"),
           "NOTES_QA_CACHE": str(model_cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "notes_qa_cli", "mcp"], env=env)
    not_protocol: list[Exception] = []  # any stdout line that is not a JSON-RPC message lands here

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            not_protocol.append(message)

    async def main() -> None:
        with (tmp_path / "server.log").open("w") as errlog, anyio.fail_after(900):
            async with stdio_client(params, errlog=errlog) as (read, write), \
                    ClientSession(read, write, message_handler=on_message) as session:
                await session.initialize()  # the server built the index first (none existed)
                names = {t.name for t in (await session.list_tools()).tools}
                assert names == {"search_notes", "read_note", "index_status"}

                found = await session.call_tool("search_notes", {"query": QUESTION})
                top = found.structured_content["hits"][0]
                assert top["rank"] == 1 and top["path"] == "database.md"
                assert "- Maximum size of an item is 400KB" in top["snippet"].split("\n")
                line = top["snippet_lines"][top["snippet"].split("\n").index("- Maximum size of an item is 400KB")]
                read = await session.call_tool("read_note", {"path": top["path"], "start_line": line - 1, "end_line": line + 1})
                assert read.structured_content["lines"][1] == {"number": line, "text": "- Maximum size of an item is 400KB"}

                for path in ("../corpus/database.md", str(tmp_path / "corpus" / "database.md"), "/etc/passwd"):
                    refused = await session.call_tool("read_note", {"path": path})
                    assert refused.is_error and "\n" not in refused.content[0].text
                bad = await session.call_tool("search_notes", {"query": QUESTION, "k": "five"})
                assert bad.is_error and "k: Input should be a valid integer" in bad.content[0].text
                status = await session.call_tool("index_status", {})
                assert status.structured_content["state"] == "fresh" and status.structured_content["notes"] == 5

                (pid,) = child_pids()
                for _ in range(50):
                    await session.call_tool("search_notes", {"query": QUESTION})
                warm = rss_kb(pid)
                for i in range(200):
                    result = await session.call_tool("search_notes", {"query": f"{QUESTION} {i % 7}", "k": 5})
                    assert not result.is_error
                grown_mb = (rss_kb(pid) - warm) / 1024
                assert grown_mb < 20, f"the server grew {grown_mb:.1f} MB over 200 calls"

                with (tmp_path / "corpus" / "cache.md").open("a", encoding="utf-8") as handle:
                    handle.write("- The zeppelin quota is 42 airships per account\n")
                fresh = await session.call_tool("search_notes", {"query": "zeppelin airship quota", "k": 1})
                assert "zeppelin quota" in fresh.structured_content["hits"][0]["snippet"]

    anyio.run(main)
    assert not not_protocol, f"stdout carried something that is not a protocol message: {not_protocol[:1]}"
    log = (tmp_path / "server.log").read_text()
    assert "notes-qa mcp: serving" in log and "Traceback" not in log


@pytest.mark.model
def test_the_server_encoder_threads_do_not_spin(model_cache: Path) -> None:
    from indexer.encoder_cache import ensure_onnx
    from indexer.model_files import resolve_model
    from indexer.onnx_encoder import OnnxEncoder

    model = resolve_model(None)
    path = ensure_onnx(model, model_cache, "fp32").path
    key = "session.intra_op.allow_spinning"
    quiet = OnnxEncoder(path, model.path, spin=False)._session.get_session_options()
    assert quiet.get_session_config_entry(key) == "0"
    with pytest.raises(RuntimeError, match="does not have configuration"):  # the default: onnxruntime spins
        OnnxEncoder(path, model.path)._session.get_session_options().get_session_config_entry(key)
