"""Records and loaders; errors name file, line and field."""
from __future__ import annotations

from reasonir.data.beir import load_beir
from reasonir.data.errors import DataError
from reasonir.data.records import Dataset, Document, Query

__all__ = ["DataError", "Dataset", "Document", "Query", "load_beir"]
