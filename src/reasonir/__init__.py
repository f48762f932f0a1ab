"""reasonir: retrievers that reason (ReasonIR, Shao et al., 2025)."""
from __future__ import annotations

__version__ = "0.0.1"
