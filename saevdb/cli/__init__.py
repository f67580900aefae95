"""`saevdb` command line: advise, train, refine, encode, eval, compare, ingest, search. Each prints a
short summary and, with `--json PATH`, writes the full result as JSON."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from simple_parsing import ArgumentParser, DashVariant

from saevdb.cli import advise, compare, encode, evaluate, ingest, refine, search, train

COMMANDS = (advise, train, refine, encode, evaluate, compare, ingest, search)


def build_parser() -> ArgumentParser:
    """One subcommand per module of this package; a command's typed config (`TrainConfig`) becomes its
    options through simple-parsing, so a field added to the config is an option with its help."""
    options = {
        "add_option_string_dash_variants": DashVariant.DASH,
        "add_config_path_arg": False,
        "formatter_class": _Help,
    }
    parser = ArgumentParser(prog="saevdb", description=__doc__, **options)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    for command in COMMANDS:
        command.add_parser(_Sub(sub, options))
    return parser


class _Help(argparse.HelpFormatter):
    """Metavars that name the value (`N`, `X`, `PATH`, `LIST`; else the option's name) and each
    default said once: appended only where the help text does not already say it, and never for
    an option whose default is "not given"."""

    _TYPES = {int: "N", float: "X", Path: "PATH"}

    def _get_default_metavar_for_optional(self, action: argparse.Action) -> str:
        if action.type in self._TYPES:
            return self._TYPES[action.type]
        return "LIST" if "comma-separated" in (action.help or "") else action.dest.rsplit(".", 1)[-1].upper()

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        quiet = action.default in (None, False, argparse.SUPPRESS) or action.option_strings == []
        if quiet or "default" in text.lower():
            return text
        return f"{text} (default: %(default)s)"


class _Sub:
    """`add_parser` with this CLI's parser options, so every subcommand spells options the same way."""

    def __init__(self, sub, options: dict) -> None:
        self._sub, self._options = sub, options

    def add_parser(self, name: str, **kwargs) -> ArgumentParser:
        return self._sub.add_parser(name, **self._options, **kwargs)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Our progress at INFO; the engine clients' per-request INFO lines stay quiet.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("saevdb").setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        result = args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as e:  # input, or an engine that refused: say it plainly
        print(f"saevdb {args.command}: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0
