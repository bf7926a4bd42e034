"""Fuzzing (issue 15): the crash inputs found so far as regressions, then a bounded seeded run of
every harness in fuzz/harnesses.py. Long coverage-guided runs are bench/fuzz.py's (atheris)."""

from __future__ import annotations

import email
import sys
import time
from email import policy
from pathlib import Path

import pytest
from helpers import assert_balanced, build_case, codes, rows

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # fuzz/ sits beside src/, not inside the package

from fuzz.harnesses import HARNESSES, SEEDS  # noqa: E402
from fuzz.mutate import campaign  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "fuzz"
CPYTHON_AS_BYTES = FIXTURES / "cpython-as-bytes-unicodeencodeerror.eml"
CPYTHON_FROM = FIXTURES / "cpython-from-addresses-attributeerror.eml"
REGRESSIONS = sorted(p for p in FIXTURES.iterdir() if "--" in p.name)  # "<harness>--<what>.<ext>"


def test_every_regression_names_a_harness():
    assert REGRESSIONS, "the crash inputs found by fuzzing are kept here"
    for path in REGRESSIONS:
        assert path.name.split("--")[0] in HARNESSES, path.name


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
def test_crash_input_found_by_fuzzing_no_longer_breaks_the_contract(path: Path):
    HARNESSES[path.name.split("--")[0]](path.read_bytes())


def test_an_out_of_range_time_is_a_bad_line_or_a_post_without_a_time(tmp_path: Path):
    """The spread_readers crash (an OverflowError from a year or zone too large for a C int, found by
    atheris): the generic CSV counts the row as a Bad line, the tweet reader keeps the post, timeless."""
    from leaklens.spread.model import Bad, Post, parse_time
    from leaklens.spread.readers import load

    for bad in ("Tue, 01 Mar 2022 10:00:00 +99999999999999999999", "1e400", "nan", 10**400, float("inf"),
                "0001-01-01T00:00:00+01:00", 1e300):
        assert parse_time(bad) is None, bad
    assert parse_time("Tue, 01 Mar 2022 10:00:00 +0000") == 1646128800.0
    csv = tmp_path / "posts.csv"
    csv.write_text("id,time,author,text\n1,Tue 01 Mar 99999999999999999999 10:00:00,a,x\n2,1646128800,b,y\n")
    got = list(load()["csv"].read(csv))
    assert [type(g) for g in got] == [Bad, Post] and "unreadable time" in got[0].reason
    tweets = tmp_path / "tweets.jsonl"
    tweets.write_bytes((FIXTURES / "spread_readers--timestamp-out-of-range.json").read_bytes())
    posts = [g for g in load()["twitter-v1"].read(tweets) if isinstance(g, Post)]
    assert [(p.post_id, p.ts, p.author_created) for p in posts] == [("1", None, None), ("2", None, None)]


def test_a_4chan_time_past_a_date_is_no_time_and_the_analysis_runs(tmp_path: Path):
    """A 4chan post whose epoch time no date can show (10**20 s): the reader used to keep it as a float,
    and `spread analyse` then failed on it with an internal OverflowError (a timeline's date)."""
    from typer.testing import CliRunner

    from leaklens.cli import app
    from leaklens.spread.model import Post
    from leaklens.spread.readers import load

    thread = tmp_path / "thread.json"
    thread.write_text('{"posts":[{"no":1,"time":1646128800,"com":"leak","resto":0},'
                      '{"no":2,"time":100000000000000000000,"com":"hi","resto":1},'
                      '{"no":3,"time":1646128900,"com":"x","resto":1}]}')
    posts = [g for g in load()["4chan"].read(thread) if isinstance(g, Post)]
    assert [p.ts for p in posts] == [1646128800.0, None, 1646128900.0]
    case = str(tmp_path / "case")
    assert CliRunner().invoke(app, ["spread", "ingest", "--case", case, str(thread)]).exit_code == 0
    r = CliRunner().invoke(app, ["spread", "analyse", "--case", case])
    assert r.exit_code == 0, r.output


def test_cpython_email_crash_inputs_still_crash_the_stdlib():
    """The two inputs atheris found in CPython 3.11's email package (`fuzz/run.py cpython_email_as_bytes`,
    `cpython_email_from`, under a minute each): why they are here."""
    msg = email.message_from_bytes(CPYTHON_AS_BYTES.read_bytes(), policy=policy.default)
    with pytest.raises(UnicodeEncodeError):
        msg.as_bytes()
    msg = email.message_from_bytes(CPYTHON_FROM.read_bytes(), policy=policy.default)
    with pytest.raises(AttributeError):
        _ = msg["From"].addresses


def _carrier(messages: list[bytes]) -> bytes:
    """A message that forwards each input as a message/rfc822 attachment (base64: the bytes exactly)."""
    import base64

    out = [b"From: fuzz@example.com\r\nSubject: carrier\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n"]
    for m in messages:
        out.append(b"--zz\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   + base64.encodebytes(m).replace(b"\n", b"\r\n"))
    out.append(b"--zz--\r\n")
    return b"".join(out)


def test_leaklens_survives_the_cpython_email_crash_inputs(tmp_path: Path):
    """Each input as a file of its own and both forwarded in a message, ingested and verified: every
    item stored, the forwarded ones read as messages with findings, no traceback."""
    from leaklens.verify.case_verify import verify_case

    src = tmp_path / "dump"
    src.mkdir()
    inputs = [CPYTHON_AS_BYTES.read_bytes(), CPYTHON_FROM.read_bytes()]
    (src / CPYTHON_AS_BYTES.name).write_bytes(inputs[0])
    (src / CPYTHON_FROM.name).write_bytes(inputs[1])
    (src / "both.eml").write_bytes(_carrier(inputs))
    case = build_case(tmp_path, src)
    assert_balanced(case)
    items = rows(case)
    assert all(r["state"] == "stored" for r in items), [(r["name"], r["state"], r["reason"]) for r in items]
    members = [r for r in items if r["depth"] > 0 and "both.eml" in r["path"]]
    assert len(members) == 2
    for r in [*members, *(r for r in items if r["name"] == CPYTHON_FROM.name)]:
        assert r["kind"] == "email", r["name"]
        found = codes(case, r["id"])
        assert found, "a malformed message is described by findings"
        assert "ingest.read_error" not in found  # read by the email reader, not lost to an exception
    verify_case(case)
    for r in members:
        assert codes(case, r["id"])


@pytest.mark.parametrize("path", [CPYTHON_AS_BYTES, CPYTHON_FROM], ids=lambda p: p.name)
def test_every_message_harness_survives_the_cpython_email_crash_inputs(path: Path):
    for name in ("mime_reader", "header_block", "email_reader", "mbox_splitter", "archive_walker"):
        HARNESSES[name](path.read_bytes())


# The bounded run: a few thousand seeded mutants per harness, about 2.5 s each (the suite's budget
# for all of them is under a minute). A failure prints the input, to be kept in fixtures/fuzz/.
RUNS = 3000
SECONDS = 2.5


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_bounded_fuzz_run(name: str):
    started = time.monotonic()
    failures = list(campaign(HARNESSES[name], SEEDS[name], RUNS, seed=15, time_limit=SECONDS))
    assert time.monotonic() - started < SECONDS + 10
    assert not failures, f"{len(failures)} inputs broke the contract; first {failures[0][0][:200]!r}: {failures[0][1]}"


def test_every_harness_has_seeds():
    for name in HARNESSES:
        assert SEEDS[name], name
        for seed in SEEDS[name]:
            HARNESSES[name](seed)


def test_the_atheris_runner_runs_a_harness_and_writes_its_figures(tmp_path: Path):
    """fuzz/run.py, the process bench/fuzz.py starts per harness: a few hundred coverage-guided runs."""
    import json
    import subprocess

    pytest.importorskip("atheris")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), "domain_parser", "--runs=300", f"--out={tmp_path}"],
        capture_output=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.loads((tmp_path / "domain_parser" / "stats.json").read_text())
    assert stats["executions"] >= 300
    assert stats["crashes"] == {} and stats["hangs"] == 0


def test_zips_python_cannot_open_or_name_are_read_as_far_as_they_go(tmp_path: Path):
    """The two archive_walker inputs atheris found on 2026-12-03: a central directory asking for zip
    version 8.0 (zipfile raises NotImplementedError when opening it) and a member with an empty name
    (ZipInfo.is_dir() raised IndexError). Ingest gives a finding and keeps what it can read."""
    dump = tmp_path / "dump"
    dump.mkdir()
    for name in ("zip-version-python-cannot-read", "zip-member-with-empty-name"):
        (dump / f"{name}.zip").write_bytes((FIXTURES / f"archive_walker--{name}.zip").read_bytes())
    case = build_case(tmp_path, dump)
    assert_balanced(case)
    by_name = {r["name"]: r for r in rows(case)}
    version = by_name["zip-version-python-cannot-read.zip"]
    assert codes(case, version["id"]) == ["ingest.corrupt"]
    (finding,) = case.db.findings_for(version["id"])
    assert "zip file version 8.0" in finding.evidence["error"]
    recovered = rows(case, "parent = ? AND state = 'stored'", (version["id"],))
    assert recovered, "the members' local headers are read instead"
    empty = by_name["zip-member-with-empty-name.zip"]
    assert empty["state"] == "stored" and "ingest.crash" not in codes(case, empty["id"])
    children = {r["name"] for r in rows(case, "parent = ?", (empty["id"],))}
    assert "unnamed" in children  # the member without a name is accounted for under a name
    case.close()


def test_a_v1_status_whose_user_or_entities_are_not_objects_is_read_without_them(tmp_path: Path):
    """The spread_readers input atheris found on 2026-12-03 ("user": "1" raised AttributeError): the
    status is kept as a post, with no author, and fields of the wrong type read as none."""
    from leaklens.spread.model import Post
    from leaklens.spread.readers import load

    path = tmp_path / "tweets.jsonl"
    path.write_text('{"id_str":"1","text":"leak","user":"1","entities":{"urls":7,"hashtags":"x"}}\n'
                    '{"id_str":"2","text":"ok","user":{"id_str":"8","screen_name":"bob"},"extended_tweet":[1]}\n')
    posts = [g for g in load()["twitter-v1"].read(path) if isinstance(g, Post)]
    assert [(p.text, p.author, p.author_id, p.urls, p.hashtags) for p in posts] == [
        ("leak", "", "", [], []),
        ("ok", "bob", "8", [], []),
    ]
