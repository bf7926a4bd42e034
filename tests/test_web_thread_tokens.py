"""The web's thread tokens (one per core, app.CONCURRENCY) are for a request's work: a download and
an action's audit entry do not queue for them again (bench/load.py, 50 clients: downloads and tag
writes waited twice as long as pages, queued twice behind them)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import anyio
import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from helpers import build_case

from leaklens.web.app import create_app
from leaklens.web.audit import AuditMiddleware
from leaklens.web.views.pages import RAW_CHUNK


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tokens")
    src = tmp / "in"
    src.mkdir()
    (src / "small.txt").write_bytes(b"a small note\x00 with a NUL\n")
    (src / "large.bin").write_bytes(bytes(range(256)) * (RAW_CHUNK // 256 * 2 + 3))  # 2 chunks and a bit
    c = build_case(tmp, src)
    yield c
    c.close()


@pytest.mark.parametrize("name", ["small.txt", "large.bin"])
def test_a_download_is_the_original_bytes_in_one_piece_or_in_chunks(case, name):
    [row] = [r for r in case.db.items("name = ?", (name,))]
    with TestClient(create_app(case.root)) as client:
        r = client.get(f"/items/{row['id']}/raw")
    assert r.status_code == 200 and r.headers["content-length"] == str(row["size"])
    assert hashlib.sha256(r.content).hexdigest() == row["sha256"]
    assert r.headers["content-disposition"].startswith("attachment;")


def test_an_actions_audit_entry_is_written_while_every_request_token_is_taken():
    written: list[dict] = []

    class Pool:
        def get(self):
            return type("C", (), {"db": type("D", (), {"append_audit": staticmethod(written.append)})})()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def sent(message):
        pass

    async def main():
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 1
        held, done = anyio.Event(), anyio.Event()

        async def busy_request():  # every request token held, as by requests at work
            async with limiter:
                held.set()
                await done.wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(busy_request)
            await held.wait()
            scope = {"type": "http", "method": "POST", "path": "/api/items/x/tags", "client": ("127.0.0.1", 1)}
            try:
                with anyio.fail_after(10):
                    await AuditMiddleware(app, Pool())(scope, None, sent)
            finally:
                done.set()

    # In a thread of its own: in the whole suite, the browser tests' Playwright (its sync API) keeps an
    # asyncio loop running in this thread until the session ends, and anyio.run refuses to nest.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, main).result()
    assert [e["command"] for e in written] == ["POST /api/items/x/tags"]


def test_a_tag_call_takes_a_request_token_once(case, monkeypatch):
    """Its work, and nothing else on the requests' pool (FastAPI checked its return value on it)."""
    taken: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, limiter=None, **kw):
        if limiter is None:  # the default limiter: the requests' tokens
            taken.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, limiter=limiter, **kw)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    [row] = [r for r in case.db.items("name = ?", ("small.txt",))]
    with TestClient(create_app(case.root)) as client:
        token = client.get("/api/session").json()["csrf_token"]
        taken.clear()
        r = client.post(f"/api/items/{row['id']}/tags", json={"tag": "Story"}, headers={"X-CSRF-Token": token})
        assert r.status_code == 201 and r.json() == {"tag": "story", "tags": ["story"]}
        assert len(taken) == 1, taken
        taken.clear()
        r = client.delete(f"/api/items/{row['id']}/tags/story", headers={"X-CSRF-Token": token})
        assert r.status_code == 200 and r.json() == {"tags": []}
        assert len(taken) == 1, taken
