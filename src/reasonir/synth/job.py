"""Persistence of a synthesis job: the output rows, a ledger of finished (seed, kind) outcomes, seed scores and a
manifest with the job's fingerprint, all in append-only, fsync'd files (``reasonir.data.appender``).

Rows go to ``out_path`` (key ``meta.row_id`` = ``<seed id>:<kind>:<n>``); one ledger entry per (seed, kind) records
what became of every candidate (kept, or the drop reason), in ``<out_path>.synth/``. After a crash (even
``kill -9``) the same call skips what is recorded and redoes only what was lost; every request carries its own
sampling seed, so the redone seeds ask exactly the requests the interrupted run asked (and the response cache
answers those it had finished).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from reasonir.data.appender import JsonlAppender
from reasonir.data.atomic import atomic_open
from reasonir.data.records import JUDGE_SPLIT, Document, TrainingRow
from reasonir.data.training import row_to_dict
from reasonir.synth.report import SynthReport


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    h = hashlib.sha256()
    for d in documents:
        h.update(f"{d.id}\x00{d.title}\x00{d.text}\x01".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def state_dir(out_path: str | Path) -> Path:
    """Where a job keeps its manifest, seed scores and ledger: ``<out>.synth/`` beside the output."""
    out = Path(out_path)
    return out.with_name(out.name + ".synth")


def open_job(out: Path, fingerprint: str, resume: bool, overwrite: bool) -> None:
    """Decide between a fresh start and a resume; refuse to touch a file this job did not make."""
    state = state_dir(out)
    manifest = state / "manifest.json"
    old = json.loads(manifest.read_text())["fingerprint"] if manifest.is_file() else None
    if overwrite:
        out.unlink(missing_ok=True)
        shutil.rmtree(state, ignore_errors=True)
        old = None
    elif out.exists():
        if old != fingerprint and not resume:
            why = "was made with other settings, corpus or model" if old else "was not made by reasonir synthesize"
            raise FileExistsError(f"{out}: already exists and {why}; pass --resume to continue it anyway or "
                                  "--overwrite to replace it")
    elif old is not None and old != fingerprint:
        shutil.rmtree(state)  # our own state from another job whose output is gone
        old = None
    else:  # the output is gone: its ledger would claim rows that no longer exist (seed scores stay valid)
        (state / "ledger.jsonl").unlink(missing_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    if old != fingerprint:
        with atomic_open(manifest, overwrite=True) as fh:
            json.dump({"fingerprint": fingerprint, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, fh)


class JobStore:
    """The job's files, opened for appending; counts what earlier runs finished into ``report``."""

    def __init__(self, out: Path, report: SynthReport, stack: ExitStack) -> None:
        state = state_dir(out)
        self.report = report
        self.rows = stack.enter_context(JsonlAppender(out, key="meta.row_id"))
        self.ledger = stack.enter_context(JsonlAppender(state / "ledger.jsonl", key="key"))
        self.scores = stack.enter_context(JsonlAppender(state / "scores.jsonl", key="id"))
        self.kept_queries: list[str] = []
        self.done: set[str] = set()  # "<seed id>:<kind>" finished
        self._read_back(out)

    def _read_back(self, out: Path) -> None:
        for line in open(self.ledger.path, encoding="utf-8"):
            if line.strip():
                entry = json.loads(line)
                self.done.add(entry["key"])
                self.report.add(entry)
        unclosed: dict[str, dict] = {}  # crash between the rows and their ledger entry: the seed is done
        for line in open(out, encoding="utf-8"):
            if line.strip():
                row = json.loads(line)
                key = row["meta"]["row_id"].rsplit(":", 1)[0]
                judge = row["meta"].get("split") == JUDGE_SPLIT
                if not judge:
                    self.kept_queries.append(row["query"])
                if key in self.done:
                    continue
                entry = unclosed.setdefault(key, {"key": key, "kind": row["kind"], "kept": 0, "judge": 0,
                                                  "dropped": {}, "negatives": Counter()})
                entry["judge" if judge else "kept"] += 1
                entry["negatives"].update(row["meta"].get("neg_source", []))
                if "split" in row["meta"] and not judge:
                    entry["split"] = row["meta"]["split"]
        for key, entry in unclosed.items():
            self.done.add(key)
            self.report.add({**entry, "negatives": dict(entry["negatives"])})
        self.report.resumed_items = len(self.done)

    def known_scores(self) -> dict[str, float | None]:
        known = {}
        for line in open(self.scores.path, encoding="utf-8"):
            if line.strip():
                entry = json.loads(line)
                known[entry["id"]] = entry["score"]
        return known

    def record(self, entry: dict, rows: Sequence[TrainingRow] = ()) -> None:
        """Rows first, then the ledger entry that closes their (seed, kind): a crash between them loses no row."""
        for row in rows:
            self.rows.append(row_to_dict(row))
            if row.meta.get("split") != JUDGE_SPLIT:
                self.kept_queries.append(row.query)
        self.ledger.append(entry)
        self.done.add(entry["key"])
        self.report.add(entry)
