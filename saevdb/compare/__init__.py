"""`saevdb compare`: every engine side by side on the user's own data (`run`), measured against
exact neighbours (`truth`), printed and plotted (`report`)."""

from saevdb.compare.report import format_compare, plot_compare
from saevdb.compare.run import HEADLINE_MODE, MODES, CompareConfig, compare

__all__ = ["HEADLINE_MODE", "MODES", "CompareConfig", "compare", "format_compare", "plot_compare"]
