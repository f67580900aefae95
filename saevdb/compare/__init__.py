"""`saevdb compare`: on the user's own data, in every engine, saevdb's codes beside the engine's own
ways of storing dense vectors (`plan`, `run`), measured against exact neighbours (`truth`), with RAM
to provision read per mapping (`provision`), and which option is worth it (`frontier`, `report`)."""

from saevdb.compare.frontier import summary
from saevdb.compare.report import format_compare, plot_compare
from saevdb.compare.run import CompareConfig, compare

__all__ = ["CompareConfig", "compare", "format_compare", "plot_compare", "summary"]
