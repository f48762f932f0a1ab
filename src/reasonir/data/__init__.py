"""Records and loaders; errors name file, line and field."""
from __future__ import annotations

from reasonir.data.beir import load_beir
from reasonir.data.bright import BRIGHT_TASKS, load_bright
from reasonir.data.errors import DataError
from reasonir.data.records import Dataset, Document, Query

__all__ = ["BRIGHT_TASKS", "load_bright", "DataError", "Dataset", "Document", "Query", "load_beir"]
