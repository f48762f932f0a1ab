"""Index folders: written atomically, recognised by a manifest, reloaded without re-encoding.

Layout of a saved index::

    DIR/reasonir-index.json   manifest: {"format": "reasonir-index", "version": 1, "kind": "bm25"|"dense"|..., ...}
    DIR/doc_ids.json          document ids in index order
    DIR/documents.jsonl       the documents (id, title, text), so search results can show text
    DIR/...                   the kind's own files (faiss.index, bm25s/, part-0/ ...)

Everything is first written to a temporary sibling folder and renamed into place, so a crash leaves either the
old index or the new one. A non-empty folder that is not a reasonir index is never overwritten.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reasonir.data.atomic import atomic_folder
from reasonir.data.errors import DataError
from reasonir.data.records import Document

if TYPE_CHECKING:
    from reasonir.retrieve.base import DocumentLookup, Retriever

MANIFEST = "reasonir-index.json"
FORMAT, VERSION = "reasonir-index", 1


def is_index(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def index_folder(folder: str | Path) -> Path:
    """The index a folder names: the folder itself, or the ``index/`` inside it (what ``reasonir adapt`` writes,
    so ``reasonir serve OUT`` serves an adapted corpus)."""
    folder = Path(folder)
    return folder / "index" if not is_index(folder) and is_index(folder / "index") else folder


def read_manifest(folder: str | Path) -> dict:
    path = index_folder(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: not a reasonir index (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, None, f"malformed JSON ({exc.msg})") from None
    if manifest.get("format") != FORMAT or "kind" not in manifest:
        raise DataError(path, None, "format", f"expected format {FORMAT!r} with a kind")
    if manifest.get("version") != VERSION:
        raise DataError(path, None, "version", f"unsupported index version {manifest.get('version')!r}")
    return manifest


def check_writable(folder: Path, overwrite: bool) -> None:
    """Raise FileExistsError unless ``folder`` is absent, empty, or an index that ``overwrite`` allows replacing."""
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return
    if not is_index(folder):
        raise FileExistsError(f"{folder}: exists, is not empty and is not a reasonir index; refusing to overwrite")
    if not overwrite:
        raise FileExistsError(f"{folder}: an index is already there; pass overwrite=True (--overwrite) to replace it")


@contextmanager
def writing_index(folder: str | Path, kind: str, settings: dict, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it gets the manifest and replaces ``folder``."""
    folder = Path(folder)
    check_writable(folder, overwrite)
    with atomic_folder(folder, overwrite=True) as tmp:  # check_writable has decided whether replacing is allowed
        yield tmp
        manifest = {"format": FORMAT, "version": VERSION, "kind": kind, **settings}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def write_ids(folder: Path, ids: Sequence[str]) -> None:
    (folder / "doc_ids.json").write_text(json.dumps(list(ids)), encoding="utf-8")


def read_ids(folder: Path) -> list[str]:
    return json.loads((folder / "doc_ids.json").read_text(encoding="utf-8"))


def write_documents(folder: Path, documents: Sequence[Document] | None, source: Path | None = None) -> None:
    """Store the documents beside the index (or copy them from the folder the index was loaded from)."""
    target = folder / "documents.jsonl"
    if documents is not None:
        with open(target, "w", encoding="utf-8") as fh:
            for d in documents:
                fh.write(json.dumps({"_id": d.id, "title": d.title, "text": d.text}, ensure_ascii=False) + "\n")
    elif source is not None and (source / "documents.jsonl").exists():
        shutil.copyfile(source / "documents.jsonl", target)


def lookup_documents(folder: str | Path, ids: Sequence[str] | None = None) -> dict[str, Document]:
    """Read the stored documents whose id is in ``ids``, or all of them when ``ids`` is None (one pass over
    documents.jsonl; {} if none stored). ``folder`` is an index or a folder ``reasonir adapt`` wrote (its
    ``index/``)."""
    path = index_folder(folder) / "documents.jsonl"
    wanted, found = (None if ids is None else set(ids)), {}
    if not path.exists():
        return found
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            if wanted is None or obj["_id"] in wanted:
                found[obj["_id"]] = Document(obj["_id"], obj.get("text", ""), obj.get("title", ""))
    return found


def table_lookup(documents: Sequence[Document] | None, source: Any = None) -> DocumentLookup | None:
    """Documents by id from those in memory, else from the ``documents.jsonl`` saved in the index folder ``source``
    (None: neither is known).

    Here beside :func:`lookup_documents`, which it reads the folder with, so that ``base`` (the contracts) needs
    nothing from ``store`` and ``store`` only names ``base``'s types."""
    if documents is not None:
        table = {d.id: d for d in documents}
        return lambda ids: {i: table[i] for i in ids if i in table}
    if source is not None:
        return lambda ids: lookup_documents(source, ids)
    return None


def load_index(folder: str | Path, **kwargs) -> Retriever:
    """Load any saved index, whatever its kind; ``kwargs`` go to the kind's ``load`` (e.g. ``model=`` for dense).

    Kinds are looked up in :mod:`reasonir.retrieve.registry`, which imports the retriever only now.
    """
    from reasonir.retrieve import registry

    folder = index_folder(folder)
    kind = read_manifest(folder)["kind"]
    if kind not in registry.kinds():
        raise DataError(Path(folder) / MANIFEST, None, "kind", f"unknown index kind {kind!r}")
    return registry.load(kind, folder, **kwargs)
