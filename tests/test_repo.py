"""The README's promises about the repository itself, and the layout's rules."""

import ast
import re
from pathlib import Path

import tomllib

from saevdb.adapters import ENGINES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = {"saevdb": "saevdb", "saevdb.sae_core": "sae_core", "saevdb.adapters": "adapters"}


def _python_files():
    for folder in ("saevdb", "sae_core", "adapters", "tests", "integration_tests", "benchmarks", "examples"):
        yield from (ROOT / folder).rglob("*.py")


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```(?:bash|sh)\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [commands[1].strip()]


def test_compose_pins_the_images_the_registry_names():
    compose = (ROOT / "docker" / "compose.yml").read_text()
    for spec in ENGINES.values():
        assert f"image: {spec.image}" in compose


def test_every_package_folder_is_installed_under_saevdb():
    """pyproject lists each package under its `saevdb.` name, and every folder with an __init__.py is listed."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == PACKAGE_FOLDERS
    found = set()
    for name, folder in PACKAGE_FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *parts)))
    assert sorted(setuptools["packages"]) == sorted(found)


def test_nothing_imports_a_folder_by_its_bare_name():
    """`sae_core` and `adapters` exist only as `saevdb.sae_core` / `saevdb.adapters`: importing the bare
    folder name would load a second copy of every module (and `adapters` is another distribution's)."""
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("sae_core", "adapters")
            ]
    assert offenders == []


def test_sae_core_imports_nothing_above_it():
    for path in (ROOT / "sae_core").rglob("*.py"):
        text = path.read_text()
        assert "saevdb.adapters" not in text and "from saevdb." + "cli" not in text, path


def test_engine_names_stay_in_their_folders():
    """No module outside an engine's folder imports that engine's client or package directly: the
    registry is the one way in (tests of one engine's own features and the examples excepted)."""
    clients = {m for spec in ENGINES.values() for m in spec.client_modules}
    for path in [
        *(ROOT / "saevdb").rglob("*.py"),
        *(ROOT / "adapters").glob("*.py"),
        *(ROOT / "sae_core").rglob("*.py"),
    ]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in clients, f"{path}: {node.module}"
                for engine in ENGINES:
                    assert not node.module.startswith(f"saevdb.adapters.{engine}"), f"{path}: {node.module}"
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & clients, path


def test_no_module_is_much_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in _python_files() if (n := len(p.read_text().splitlines())) > 320}
    assert long == {}


def test_results_docs_are_generated_from_the_results_files():
    """benchmarks/RESULTS.md and the README's headline table are what make_results.py writes."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "make_results.py"), "--check"], capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
