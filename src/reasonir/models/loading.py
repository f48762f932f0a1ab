"""Loading a sentence-transformers model in a resolved backend, and naming a model for caches.

These sit below both :mod:`reasonir.models.encoder` (``load_encoder``: decide the backend, then load) and
:mod:`reasonir.models.auto` (the ``auto`` probe loads fp32 and keys its verdicts by a model's identity): kept in
either of them, the other had to import it back, and the two modules imported each other.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from reasonir.data.atomic import atomic_open
from reasonir.models import backends
from reasonir.models.backends import ResolvedBackend, apply_backend
from reasonir.models.resolve import resolve_model
from reasonir.optional import require

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def import_sentence_transformers():
    return require("sentence_transformers", "models", purpose="dense retrieval")


def load_as(name_or_path: str | None, device: str | None, backend: ResolvedBackend) -> SentenceTransformer:
    """Load ``name_or_path`` and run it in ``backend``, already resolved (``auto`` decided): what
    :func:`reasonir.models.encoder.load_encoder` does after deciding, and what the ``auto`` probe loads its fp32
    reference with (it must not decide, it is deciding)."""
    st = import_sentence_transformers()
    resolved = resolve_model(name_or_path)
    # Folders trained with an LLM backbone name reasonir's own modules (models/bidirectional.py) in modules.json
    from reasonir.models.bidirectional import uses_reasonir_modules

    trusted = Path(resolved).is_dir() and uses_reasonir_modules(resolved)
    model = st.SentenceTransformer(resolved, device=device, trust_remote_code=trusted)
    if backend == "torch":
        return model
    if backend != "torch-bf16" and device not in (None, "cpu"):
        raise ValueError(f"encoder backend {backend} runs on the CPU only, not on {device}")
    return apply_backend(model, backend, model_identity(name_or_path))


def folder_fingerprint(folder: str | Path) -> str:
    """An identity for weights on disk: file names, sizes and contents, so the same weights installed again (new
    modification times: a reinstalled package, a copied folder) keep their identity, and with it their exports,
    backend verdicts and cached embeddings, while a model retrained into the same folder gets a new one.

    Contents are read once per state of the files: the digest is kept in ``encoders/fingerprints/`` under a key
    of the files' names, sizes and modification times, so an unchanged folder costs a ``stat`` per file.

    >>> import tempfile, pathlib
    >>> a, b = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp())
    >>> _ = (a / "w.bin").write_bytes(b"weights"), (b / "w.bin").write_bytes(b"weights")
    >>> folder_fingerprint(a) == folder_fingerprint(b)
    True
    """
    root = Path(folder).resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    stats = hashlib.sha256(str(root).encode())
    for path in files:
        stat = path.stat()
        stats.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return _content_fingerprint(root, tuple(files), stats.hexdigest()[:32])


@lru_cache(maxsize=64)
def _content_fingerprint(root: Path, files: tuple[Path, ...], stat_key: str) -> str:
    memo = backends.encoder_cache_dir() / "fingerprints" / stat_key
    try:
        return memo.read_text(encoding="utf-8").strip()
    except OSError:
        pass
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(root)}\0{path.stat().st_size}\n".encode())
        with open(path, "rb") as fh:
            while block := fh.read(1 << 22):
                digest.update(block)
    fingerprint = digest.hexdigest()[:16]
    try:
        with atomic_open(memo, overwrite=True) as fh:
            fh.write(fingerprint + "\n")
    except OSError:  # a read-only cache: the fingerprint is still right, only computed again next time
        pass
    return fingerprint


def model_identity(name_or_path: str) -> str:
    """Identity of a model given by name: a hub name as it resolves; a folder by its contents alone
    (:func:`folder_fingerprint`), not its path, so a copy of a model (``adapt`` hands the base back as one) shares
    the original's exports and cached embeddings.

    >>> import tempfile, pathlib
    >>> a, b = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp())
    >>> _ = (a / "w.bin").write_bytes(b"weights"), (b / "w.bin").write_bytes(b"weights")
    >>> model_identity(str(a)) == model_identity(str(b)), model_identity(str(a)).startswith("weights@")
    (True, True)
    """
    resolved = resolve_model(name_or_path)
    if Path(resolved).is_dir():
        return f"weights@{folder_fingerprint(resolved)}"
    return resolved


# config.json fields that fix a transformer's shapes and operations: two models equal in these run the same kernels
# on the same inputs, whatever their weights, their name or the transformers version that saved them
SHAPE_FIELDS = ("model_type", "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "intermediate_size", "hidden_act", "vocab_size",
                "max_position_embeddings", "type_vocab_size", "position_embedding_type")


def architecture_key(name_or_path: str | None) -> str | None:
    """A model folder's architecture, as ``<model_type>-<layers>x<hidden>@<hash>``: its transformer's
    :data:`SHAPE_FIELDS` and its sentence-transformers module stack (class names only, since the module paths
    moved between sentence-transformers versions). None where there is no folder with a ``config.json`` to read (a
    hub name not downloaded).

    What it is for: the ``auto`` backend probe measures kernels, and a fine-tuned copy runs the kernels its base
    ran, so the copies ``adapt`` trains take the base's verdict instead of a probe each (25 s each on 2 cores).

    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 384,
    ...     "num_hidden_layers": 6, "_name_or_path": "anything", "transformers_version": "5.0"}))
    >>> architecture_key(str(folder)).split("@")[0]
    'bert-6x384'
    """
    import json

    folder = Path(resolve_model(name_or_path))
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        stack = [str(m.get("type", "")).rsplit(".", 1)[-1]
                 for m in json.loads((folder / "modules.json").read_text(encoding="utf-8"))]
    except (OSError, ValueError, AttributeError):
        stack = []
    shape = {k: config.get(k) for k in SHAPE_FIELDS}
    digest = hashlib.sha256(json.dumps([shape, stack], sort_keys=True).encode()).hexdigest()[:16]
    return f"{shape['model_type']}-{shape['num_hidden_layers']}x{shape['hidden_size']}@{digest}"
