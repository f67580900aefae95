"""The README's promises about the repository itself."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```(?:bash|sh)\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [commands[1].strip()]


def test_container_launchers_use_the_images_compose_pins():
    from integration_tests.launchers import IMAGES

    compose = (ROOT / "docker" / "compose.yml").read_text()
    for image in IMAGES.values():
        assert f"image: {image}" in compose
