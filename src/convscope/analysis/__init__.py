"""Pure analysis passes over a Graph."""

from .receptive_field import AxisField, Field, receptive_fields
from .report import CONVENTIONS, DTYPE_BYTES, LayerStats, Report, Totals, analyze

__all__ = ["CONVENTIONS", "DTYPE_BYTES", "AxisField", "Field", "LayerStats", "Report", "Totals",
           "analyze", "receptive_fields"]
