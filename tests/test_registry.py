"""The engine registry: every entry resolves to real classes whose options match what it declares."""

import importlib
import inspect

import pytest

from saevdb.adapters import ENGINES, LocalEngine, engine_spec
from saevdb.adapters.registry import engine_folder, load
from saevdb.cli import build_parser


@pytest.fixture(params=sorted(ENGINES))
def name(request) -> str:
    for module in ENGINES[request.param].client_modules:
        pytest.importorskip(module, reason=f"needs the [{ENGINES[request.param].extra}] extra")
    return request.param


def test_entries_resolve_to_an_adapter_a_local_engine_and_a_container(name):
    adapter, local, container = (load(name, role) for role in ("adapter", "local", "container"))
    assert callable(adapter.from_url) and issubclass(local, LocalEngine) and callable(container)


def test_declared_precisions_are_what_the_adapter_takes(name):
    """`precisions` in the entry is the tuple the engine's adapter checks `datatype` against."""
    spec = engine_spec(name)
    constants = importlib.import_module(f"saevdb.adapters.{engine_folder(name)}.constants")
    assert tuple(constants.PRECISIONS) == spec.precisions
    assert "datatype" in inspect.signature(load(name, "adapter")).parameters


def test_declared_pruning_knobs_are_adapter_options(name):
    parameters = inspect.signature(load(name, "adapter")).parameters
    assert set(engine_spec(name).pruning) <= set(parameters)


def test_unknown_engine_names_the_known_ones():
    with pytest.raises(ValueError, match="known: "):
        engine_spec("weaviate")


def test_cli_choices_come_from_the_registry():
    ingest = build_parser()._subparsers._group_actions[0].choices["ingest"]
    backend = next(a for a in ingest._actions if a.dest == "backend")
    assert tuple(backend.choices) == tuple(ENGINES)


def test_release_lines_share_their_engines_folder_and_run_only_when_named():
    from saevdb.adapters import DEFAULT_ENGINES

    lines = {name: spec.line_of for name, spec in ENGINES.items() if spec.line_of}
    assert lines and all(base in DEFAULT_ENGINES for base in lines.values())
    assert set(DEFAULT_ENGINES) == set(ENGINES) - set(lines)
    for name, base in lines.items():
        assert engine_spec(name).adapter == engine_spec(base).adapter and engine_folder(name) == base
        assert engine_spec(name).options != engine_spec(base).options
