"""Judging document metadata: per-document date and structure checks, and checks of each
document against the rest of the case (edit bursts, foreign editors).

Pure functions over `DocMetadata` records; the pipeline supplies the email date, the email's
standing (verified, altered body, or unproven) and the dump's publication date. Findings that
should move a verdict say so with `evidence["effect"]` ("altered" or "suspicious");
informational ones carry no effect.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leaklens.display import when_quoted
from leaklens.model import Finding
from leaklens.verify.docmeta.common import DATE_FIELDS, DocMetadata, DocRecord
from leaklens.verify.neardup import word_diff
from leaklens.verify.population import (
    codepage_script,
    language_script,
    normalise_name,
    population_summary,
    script_of,
)

__all__ = ["DocRecord", "check_document", "population_checks", "population_summary"]

# Clocks of two machines disagree a little; a date written without a zone may be any local time.
AWARE_SLACK = timedelta(minutes=10)
NAIVE_SLACK = timedelta(hours=14)
FUTURE_SLACK = timedelta(days=1)

BURST_WINDOW = timedelta(minutes=10)
BURST_MIN_MEMBERS = 3
BURST_MIN_CREATION_SPAN = timedelta(days=180)

OUTLIER_MIN_POPULATION = 5  # documents carrying the attribute, below which nothing stands apart
OUTLIER_MAX_SHARE = 0.25  # a script/codepage/language found in at most this share of documents
DOMINANT_MIN_SHARE = 0.6  # ... while the dominant one covers at least this share
RARE_MAX_COUNT = 3  # a name is "rare" if seen in at most max(this, RARE_MAX_SHARE * N) documents
RARE_MAX_SHARE = 0.05

FIELD_LABELS = {"author": "Author", "last_modified_by": "Last modified by", "company": "Company"}


def _slack(meta: DocMetadata, name: str, other_naive: bool = False) -> timedelta:
    return NAIVE_SLACK if meta.naive(name) or other_naive else AWARE_SLACK


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _with_aware_dates(meta: DocMetadata) -> DocMetadata:
    """Records built by hand may hold zone-less dates; extractors never produce them."""
    naive = [name for name in DATE_FIELDS if (v := getattr(meta, name)) and v.tzinfo is None]
    if not naive:
        return meta
    raw = dict(meta.raw)
    raw["naive_dates"] = sorted(set(raw.get("naive_dates", [])) | set(naive))
    return replace(meta, raw=raw, **{name: _aware(getattr(meta, name)) for name in naive})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _span(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} hours"
    if seconds < 2 * 365 * 86400:
        return f"{int(seconds // 86400)} days"
    return f"{seconds / (365.25 * 86400):.1f} years"


def check_document(
    meta: DocMetadata,
    *,
    email_date: datetime | None,
    email_verdict: str | None = None,
    published: datetime | None,
    now: datetime,
) -> list[Finding]:
    """Findings about one document's own metadata (dates, producer, revisions, layers).

    `email_verdict` is the standing of the email carrying the document: "verified" (its signature
    proves the document's bytes), "altered" (its body no longer matches its signature: pass it only
    for a body change, not a changed header) or anything else (nothing proves it).
    Dates given without a time zone are taken as UTC (with a day's slack where it matters)."""
    email_naive = email_date is not None and email_date.tzinfo is None
    email_date, published, now = _aware(email_date), _aware(published), _aware(now) or now
    meta = _with_aware_dates(meta)
    findings: list[Finding] = []
    findings += _modified_after_sent(meta, email_date, email_verdict, email_naive)
    findings += _after_publication(meta, published)
    findings += _created_after_modified(meta)
    findings += _future_dates(meta, now)
    findings += _producer_inconsistent(meta)
    findings += _incremental_update(meta)
    findings += _layers(meta)
    return findings


def _modified_after_sent(
    meta: DocMetadata, sent: datetime | None, email_verdict: str | None, sent_naive: bool
) -> list[Finding]:
    if sent is None:
        return []
    late = [
        (name, value)
        for name in ("modified", "created")
        if (value := getattr(meta, name)) and value > sent + _slack(meta, name, sent_naive)
    ]
    if not late:
        return []
    name, value = late[0]
    gap = _span(value - sent)
    if email_verdict == "verified":
        # The signature proves these bytes were attached when the email was sent: the clock that
        # stamped the document (or the one that dated the email) was wrong, nothing was changed.
        message = (
            f"The document says it was last saved {gap} after the signed email carrying it was sent: a clock "
            "discrepancy, the signature proves these bytes were sent with that email."
        )
        effect, severity = "none", "info"
    elif email_verdict == "altered":
        message = (
            f"The document says it was saved {gap} after the email carrying it was sent, and that email's body "
            "no longer matches its DKIM signature: evidence that this attachment was swapped after signing."
        )
        effect, severity = "altered", "critical"
    else:
        message = (
            f"The document says it was saved {gap} after the email carrying it was sent: either this "
            "copy was edited later or the email's date is not true."
        )
        effect, severity = "suspicious", "warning"
    return [
        Finding(
            "doc.modified_after_sent",
            severity,
            message,
            {
                "effect": effect,
                "field": name,
                "document_date": value.isoformat(),
                "email_date": sent.isoformat(),
                "email_verdict": email_verdict,
                "email_verified": email_verdict == "verified",
                "date_without_zone": meta.naive(name),
            },
        )
    ]


def _after_publication(meta: DocMetadata, published: datetime | None) -> list[Finding]:
    if published is None:
        return []
    late = {
        name: value.isoformat()
        for name in DATE_FIELDS
        if (value := getattr(meta, name)) and value > published + _slack(meta, name)
    }
    if not late:
        return []
    return [
        Finding(
            "doc.after_publication",
            "warning",
            "The document carries a date after the dump was published "
            f"({when_quoted(published)}): it was edited after the leak.",
            {"effect": "suspicious", "dates": late, "published": published.isoformat()},
        )
    ]


def _created_after_modified(meta: DocMetadata) -> list[Finding]:
    if not (meta.created and meta.modified):
        return []
    slack = _slack(meta, "created", meta.naive("modified"))
    if meta.created <= meta.modified + slack:
        return []
    return [
        Finding(
            "doc.created_after_modified",
            "warning",
            f"The document claims to have been created {_span(meta.created - meta.modified)} after it was "
            "last modified, which the application that wrote it would not do: its dates were edited.",
            {"effect": "suspicious", "created": _iso(meta.created), "modified": _iso(meta.modified)},
        )
    ]


def _future_dates(meta: DocMetadata, now: datetime) -> list[Finding]:
    future = {
        name: value.isoformat() for name in DATE_FIELDS if (value := getattr(meta, name)) and value > now + FUTURE_SLACK
    }
    if not future:
        return []
    return [
        Finding(
            "doc.future_dates",
            "warning",
            "The document carries dates in the future: the clock of the machine that wrote it was "
            "wrong or the dates were edited.",
            {"effect": "suspicious", "dates": future, "now": now.isoformat()},
        )
    ]


def _suite(application: str | None) -> str | None:
    text = (application or "").casefold()
    if "microsoft" in text or text.startswith(("excel", "word", "powerpoint")):
        return "microsoft"
    if any(s in text for s in ("libreoffice", "openoffice", "staroffice", "neooffice")):
        return "libreoffice"
    return None


def _ole_app(application: str | None) -> str | None:
    text = (application or "").casefold()
    for kind, marker in (("word", "word"), ("excel", "excel"), ("powerpoint", "powerpoint")):
        if marker in text:
            return kind
    return None


def _same_tool(a: str, b: str) -> bool:
    """Same software, allowing for ® marks, punctuation and one name extending the other."""
    a, b = (" ".join(re.sub(r"[\W_]+", " ", x.casefold()).split()) for x in (a, b))
    return a in b or b in a


def _producer_inconsistent(meta: DocMetadata) -> list[Finding]:
    raw = meta.raw
    reasons: list[dict[str, Any]] = []
    structure = raw.get("structure_app") or {}
    claimed = _suite(meta.application)
    if structure.get("family") and claimed and structure["family"] != claimed:
        reasons.append(
            {
                "claimed": meta.application,
                "structure": structure["family"],
                "evidence": structure.get("evidence"),
                "explanation": f"the file claims {meta.application} but its structure is "
                f"{'LibreOffice' if structure['family'] == 'libreoffice' else 'Microsoft Office'}'s",
            }
        )
    kind = raw.get("ole_kind")
    claimed_kind = _ole_app(meta.application)
    if kind in ("word", "excel", "powerpoint") and claimed_kind and claimed_kind != kind:
        reasons.append(
            {
                "claimed": meta.application,
                "structure": kind,
                "explanation": f"the file claims {meta.application} but holds a {kind.title()} document stream",
            }
        )
    xmp = raw.get("xmp") or {}
    info = raw.get("info") or {}
    # Tools that only appended signatures, form values or annotations rewrite the Info dictionary
    # and may leave the XMP packet alone; that mismatch is explained, not suspicious.
    benign_updaters = {
        c["producer"] for c in raw.get("revision_changes") or [] if c.get("producer") and not _touches_content(c)
    }
    for info_key, xmp_key in (("Producer", "pdf:Producer"), ("Creator", "xmp:CreatorTool")):
        a, b = info.get(info_key), xmp.get(xmp_key)
        if isinstance(a, str) and isinstance(b, str) and not _same_tool(a, b) and a not in benign_updaters:
            reasons.append(
                {
                    "claimed": a,
                    "structure": b,
                    "explanation": f"the Info dictionary names {a!r} as {info_key} while the XMP metadata "
                    f"says {b!r}: one of them was rewritten by another tool",
                }
            )
    # A later revision saved by another tool matters when it rewrote content; signing or
    # filling in a form with Acrobat after printing from Word is the normal life of a PDF.
    original = next((p for p in raw.get("revision_producers") or [] if p), None)
    for change in raw.get("revision_changes") or []:
        later = change.get("producer")
        if original and later and not _same_tool(original, later) and _touches_content(change):
            reasons.append(
                {
                    "claimed": original,
                    "structure": later,
                    "explanation": f"first saved by {original!r}, then its content was changed with {later!r}",
                }
            )
            break
    if not reasons:
        return []
    return [
        Finding(
            "doc.producer_inconsistent",
            "warning",
            f"The software named in the document does not match the file itself: {reasons[0]['explanation']}.",
            {"effect": "suspicious", "reasons": reasons},
        )
    ]


# Object kinds whose change alters what a page shows. Page dictionaries themselves are left out:
# adding a signature widget or an annotation rewrites the page's /Annots and nothing it draws.
_CONTENT_KINDS = {"content", "Form", "XObject", "Font"}


def _touches_content(change: dict[str, Any]) -> bool:
    return bool(set(change.get("kinds", [])) & _CONTENT_KINDS) or bool(change.get("text_changes"))


def _incremental_update(meta: DocMetadata) -> list[Finding]:
    revisions = meta.raw.get("revisions") or 1
    if revisions < 2:
        return []
    updates = []
    content_changed = False
    for change in meta.raw.get("revision_changes") or []:
        diffs = [
            {"object": t["object"], "diff": word_diff(t.get("old_text", ""), t.get("new_text", ""))}
            for t in change.get("text_changes", [])
        ]
        kinds = set(change.get("kinds", []))
        touched = _touches_content(change)
        content_changed |= touched
        updates.append(
            {
                "revision": change.get("revision"),
                "changed_objects": change.get("changed", []),
                "added_objects": change.get("added", []),
                "removed_objects": change.get("removed", []),
                "kinds": sorted(kinds),
                "content_changed": touched,
                "text_changes": diffs,
                "producer": change.get("producer"),
            }
        )
    evidence: dict[str, Any] = {
        "revisions": revisions,
        "updates": updates,
        "bytes_after_last_eof": meta.raw.get("bytes_after_last_eof", 0),
    }
    if content_changed:
        evidence["effect"] = "suspicious"
        changes = [h["text"] for u in updates for t in u["text_changes"] for h in t["diff"]]
        detail = f" Changed text: {'; '.join(changes[:3])[:300]}" if changes else ""
        return [
            Finding(
                "doc.incremental_update",
                "warning",
                f"The PDF was changed after it was first saved ({revisions} revisions), and the later "
                f"revision rewrote page content.{detail}",
                evidence,
            )
        ]
    return [
        Finding(
            "doc.incremental_update",
            "info",
            f"The PDF was updated after it was first saved ({revisions} revisions) without changing page "
            "content (signatures, form values, annotations or metadata are commonly added this way).",
            evidence,
        )
    ]


def _layers(meta: DocMetadata) -> list[Finding]:
    layers = meta.raw.get("ocg_layers") or []
    if not layers:
        return []
    hidden = [layer["name"] for layer in layers if layer.get("hidden")]
    names = ", ".join(repr(layer["name"]) for layer in layers[:5])
    if hidden:
        return [
            Finding(
                "doc.layers",
                "warning",
                f"The PDF has {len(layers)} optional-content layers ({names}), {len(hidden)} hidden by default: "
                "content can be present in the file but not shown, as in documents assembled from pieces.",
                {"effect": "suspicious", "layers": layers, "hidden": hidden},
            )
        ]
    return [
        Finding(
            "doc.layers",
            "info",
            f"The PDF has {len(layers)} optional-content layers ({names}); drawings and designs often do, "
            "office documents rarely.",
            {"layers": layers, "hidden": []},
        )
    ]


# --- population checks -------------------------------------------------------------------


def population_checks(docs: list[DocRecord]) -> dict[str, list[Finding]]:
    """Findings that only make sense against the rest of the case: edit bursts within a folder,
    and editors, codepages or languages that stand apart from the case's population."""
    out: dict[str, list[Finding]] = defaultdict(list)
    for item_id, finding in _edit_bursts(docs):
        out[item_id].append(finding)
    for item_id, finding in _foreign_editors(docs):
        out[item_id].append(finding)
    return dict(out)


def _edit_bursts(docs: list[DocRecord]) -> list[tuple[str, Finding]]:
    by_group: dict[str, list[DocRecord]] = defaultdict(list)
    for rec in docs:
        if rec.meta.modified and rec.meta.created:
            by_group[rec.group].append(DocRecord(rec.item_id, rec.group, _with_aware_dates(rec.meta)))
    results = []
    for group, recs in by_group.items():
        recs.sort(key=lambda r: r.meta.modified)  # type: ignore[arg-type,return-value]
        i = 0
        while i < len(recs):
            j = i
            while j + 1 < len(recs) and recs[j + 1].meta.modified - recs[i].meta.modified <= BURST_WINDOW:  # type: ignore[operator]
                j += 1
            window = recs[i : j + 1]
            if len(window) >= BURST_MIN_MEMBERS:
                created = sorted(r.meta.created for r in window)  # type: ignore[type-var]
                span = created[-1] - created[0]
                if span >= BURST_MIN_CREATION_SPAN:
                    results += _burst_findings(group, window, created, span)
                    i = j + 1
                    continue
            i += 1
    return results


def _burst_findings(group: str, window: list[DocRecord], created: list[datetime], span: timedelta) -> list:
    start, end = window[0].meta.modified, window[-1].meta.modified
    assert start is not None and end is not None
    evidence = {
        "effect": "suspicious",
        "group": group,
        "window": {"start": start.isoformat(), "end": end.isoformat(), "minutes": round((end - start).seconds / 60, 1)},
        "creation": {"first": created[0].isoformat(), "last": created[-1].isoformat(), "span_days": span.days},
        "members": [r.item_id for r in window],
    }
    message = (
        f"{len(window)} documents in {group!r} were all last modified within {_span(end - start)} of each "
        f"other although they were created {_span(span)} apart: the pattern of files edited in one sitting "
        "before release."
    )
    return [(r.item_id, Finding("doc.edit_burst", "warning", message, evidence)) for r in window]


def _dominant(counter: Counter[str], total: int) -> tuple[str | None, float]:
    if not counter or not total:
        return None, 0.0
    value, count = min(counter.items(), key=lambda vn: (-vn[1], str(vn[0])))  # a tie by value, not by reading order
    return value, count / total


def _foreign_editors(docs: list[DocRecord]) -> list[tuple[str, Finding]]:
    name_scripts: dict[str, dict[str, tuple[str, str]]] = {}  # item -> field -> (value, script)
    script_docs: Counter[str] = Counter()
    for rec in docs:
        fields = {}
        for field_name, value in rec.meta.editors():
            name = normalise_name(value)
            script = script_of(name)
            if name and script:
                fields[field_name] = (name, script)
        if fields:
            name_scripts[rec.item_id] = fields
            script_docs.update({s for _, s in fields.values()})
    summary = population_summary(docs)
    editor_counts = {e["value"]: e["count"] for e in summary["editors"]}
    editor_counts.update({c["value"]: c["count"] for c in summary["companies"]})
    n_named = len(name_scripts)
    dominant_script, dominant_share = _dominant(script_docs, n_named)
    rare_limit = max(RARE_MAX_COUNT, int(RARE_MAX_SHARE * n_named))

    cp_docs = Counter(s for rec in docs if (s := codepage_script(rec.meta.codepage)))
    n_cp = sum(cp_docs.values())
    cp_dominant, cp_share = _dominant(cp_docs, n_cp)
    lang_docs = Counter(s for rec in docs if (s := language_script(rec.meta.language)))
    n_lang = sum(lang_docs.values())
    lang_dominant, lang_share = _dominant(lang_docs, n_lang)

    def stands_apart(script: str, counter: Counter[str], total: int, dominant: str | None, share: float) -> bool:
        return (
            total >= OUTLIER_MIN_POPULATION
            and dominant is not None
            and script != dominant
            and share >= DOMINANT_MIN_SHARE
            and counter[script] / total <= OUTLIER_MAX_SHARE
        )

    common_names = [e["value"] for e in summary["editors"][:5]]
    results = []
    for rec in docs:
        outliers = []
        for field_name, (name, script) in name_scripts.get(rec.item_id, {}).items():
            count = editor_counts.get(name, 1)
            if count <= rare_limit and stands_apart(script, script_docs, n_named, dominant_script, dominant_share):
                outliers.append(
                    {
                        "field": field_name,
                        "value": name,
                        "script": script,
                        "count": count,
                        "population_script": dominant_script,
                        "common_values": [c for c in common_names if c != name],
                    }
                )
        cp_script = codepage_script(rec.meta.codepage)
        if cp_script and stands_apart(cp_script, cp_docs, n_cp, cp_dominant, cp_share):
            common = [c["value"] for c in summary["codepages"][:4] if c["value"] != rec.meta.codepage]
            outliers.append(
                {
                    "field": "codepage",
                    "value": rec.meta.codepage,
                    "script": cp_script,
                    "count": cp_docs[cp_script],
                    "population_script": cp_dominant,
                    "common_values": common,
                }
            )
        l_script = language_script(rec.meta.language)
        if l_script and stands_apart(l_script, lang_docs, n_lang, lang_dominant, lang_share):
            common = [c["value"] for c in summary["languages"][:4] if c["value"] != rec.meta.language]
            outliers.append(
                {
                    "field": "language",
                    "value": rec.meta.language,
                    "script": l_script,
                    "count": lang_docs[l_script],
                    "population_script": lang_dominant,
                    "common_values": common,
                }
            )
        if outliers:
            results.append((rec.item_id, _foreign_finding(outliers)))
    return results


def _foreign_finding(outliers: list[dict[str, Any]]) -> Finding:
    first = outliers[0]
    label = FIELD_LABELS.get(first["field"], first["field"].replace("_", " ").capitalize())
    message = (
        f"{label} {first['value']!r} ({first['script']}) stands apart from this case's documents, which "
        f"are overwhelmingly {first['population_script']} (seen in {first['count']} document(s)); "
        f"most common: {', '.join(map(str, first['common_values'][:3]))}."
    )
    if len(outliers) > 1:
        message += f" Also: {', '.join(o['field'] for o in outliers[1:])}."
    return Finding("doc.foreign_editor", "warning", message, {"effect": "suspicious", "outliers": outliers})
