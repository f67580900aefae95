"""The OpenSearch node's files without Docker: the distribution zip from Maven Central, plus the
mapper-extras module (it holds `rank_features`), the lang-painless module and the k-NN plugin (it
holds `knn_vector`, for the dense baseline), assembled once into a cache.

Why this way: `org.opensearch.distribution.integ-test-zip` is the smallest official build (no
bundled JDK, no plugins) and Maven Central is reachable where image registries are not. The 2.x
build lacks mapper-extras, which ships on Maven as the `mapper-extras-client` jar; a plugin
descriptor next to that jar makes it a module again (3.x's build ships every module, these two
included, so there only k-NN is added). The k-NN plugin zip is on Maven too (`opensearch-knn`, version
`<opensearch>.0`, which must match the node exactly) and is installed with `bin/opensearch-plugin`;
it extends lang-painless, which the integ-test build also lacks, so that module is rebuilt the same
way from the `lang-painless` jar and its dependencies. The Maven zip of k-NN ships no native
libraries, so only its Lucene engine works: an index asking for faiss or nmslib kills the node with
an `UnsatisfiedLinkError`. OpenSearch refuses to run as root, so under root the node runs as
`nobody`, from a cache and a home folder that user can read (`saevdb.adapters.opensearch.engine`).
3.x needs Java 21 or newer (`java_home` looks for one); it has no security manager any more (a Java
agent replaces it), so lang-painless's plugin-security.policy is kept only as the full build ships it.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

VERSION = "2.19.6"  # the newest 2.x: runs on Java 17, where 3.x cannot start
# The 3.x line: Maven Central serves k-NN zips for 3.4-3.6 only, and 3.6's Lucene scorer needs the
# native SIMD library its zip lacks (1-bit sq, 32x and on_disk kill the node at the first search).
VERSION_3 = "3.5.0"
JVM_ROOT = Path("/usr/lib/jvm")  # where distributions install their JDKs

_DESCRIPTOR = """description={description}
version={version}
name={name}
classname={classname}
java.version={java}
opensearch.version={version}
extended.plugins=
has.native.controller=false
"""
# Modules the integ-test build leaves out: name → (description, plugin class, Maven artifact without
# version, whether its dependencies come along, plugin-security.policy or None).
_MODULES = {
    "mapper-extras": (
        "Adds advanced field mappers",
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        "org.opensearch.plugin:mapper-extras-client",
        False,
        None,
    ),
    "lang-painless": (
        "An easy, safe and fast scripting language for OpenSearch",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.plugin:lang-painless",
        True,
        # As in the full distribution: Painless compiles scripts into classes of its own loader.
        'grant {\n  permission java.lang.RuntimePermission "createClassLoader";\n'
        '  permission java.lang.RuntimePermission "getClassLoader";\n};\n',
    ),
}
# 3.x renamed both plugin classes; its integ-test zip already ships both modules, so they are only
# rebuilt for 2.x (or a 3.x zip that lacks them).
_CLASSNAMES_3X = {
    "mapper-extras": "org.opensearch.index.mapper.MapperExtrasModulePlugin",
    "lang-painless": "org.opensearch.painless.PainlessModulePlugin",
}
KNN_PLUGIN = "opensearch-knn"
_DEPENDENCIES_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>saevdb</groupId><artifactId>fetch</artifactId><version>0</version><packaging>pom</packaging>
  <dependencies><dependency>
    <groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>
    <exclusions><exclusion><groupId>org.opensearch</groupId><artifactId>opensearch</artifactId></exclusion></exclusions>
  </dependency></dependencies>
</project>
"""


def as_root() -> bool:
    return os.geteuid() == 0


def cache_dir() -> Path:
    """`$SAEVDB_CACHE`, else `~/.cache/saevdb` (under root `/var/cache/saevdb`: `nobody` can't enter /root)."""
    if os.environ.get("SAEVDB_CACHE"):
        return Path(os.environ["SAEVDB_CACHE"])
    return Path("/var/cache/saevdb") if as_root() else Path.home() / ".cache" / "saevdb"


def java_needed(version: str = VERSION) -> int:
    """The oldest Java major release OpenSearch `version` runs on: 17 for 2.x, 21 for 3.x."""
    return 17 if int(version.split(".")[0]) < 3 else 21


def _java_major(home: Path) -> int | None:
    """The Java major release of the JDK at `home`, from its `release` file (None if unreadable)."""
    try:
        found = re.search(r'^JAVA_VERSION="(\d+)', (home / "release").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def java_home(version: str = VERSION) -> Path:
    """`$OPENSEARCH_JAVA_HOME` as given; else the first of `$JAVA_HOME`, the JDK behind `java` on the
    PATH and the newest JDK under /usr/lib/jvm that is new enough for OpenSearch `version`."""
    if os.environ.get("OPENSEARCH_JAVA_HOME"):
        return Path(os.environ["OPENSEARCH_JAVA_HOME"])
    needed = java_needed(version)
    candidates = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    if java := shutil.which("java"):
        candidates.append(Path(java).resolve().parent.parent)
    if JVM_ROOT.is_dir():
        candidates += sorted(JVM_ROOT.iterdir(), key=lambda home: _java_major(home) or 0, reverse=True)
    for home in candidates:
        if (home / "bin" / "java").exists() and (_java_major(home) or 0) >= needed:
            return home
    raise RuntimeError(f"OpenSearch {version} needs Java {needed} or newer: install a JDK or set OPENSEARCH_JAVA_HOME")


def _mvn(args: list[str], what: str, cwd: Path | None = None) -> None:
    """Run Maven (it resolves the mirrors and proxies the user set up)."""
    if shutil.which("mvn") is None:
        raise RuntimeError(f"fetching {what} needs Maven (mvn) on the PATH")
    done = subprocess.run(["mvn", "-q", "-B", *args], capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"mvn could not fetch {what}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _maven_copy(artifact: str, out: Path) -> None:
    """Fetch one artifact with Maven into `out`."""
    _mvn(["dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={out}"], artifact)


def _maven_copy_with_dependencies(artifact: str, version: str, out: Path) -> None:
    """Fetch a module jar and the jars it depends on, less OpenSearch itself (the node has that)."""
    group, name = artifact.split(":")
    with tempfile.TemporaryDirectory() as project:
        (Path(project) / "pom.xml").write_text(_DEPENDENCIES_POM.format(group=group, artifact=name, version=version))
        _mvn(["dependency:copy-dependencies", f"-DoutputDirectory={out}"], f"{artifact}:{version}", cwd=Path(project))


def _add_module(home: Path, name: str, version: str, cache: Path) -> None:
    """Rebuild one module the integ-test build leaves out; it appears whole or not at all."""
    description, classname, artifact, with_dependencies, policy = _MODULES[name]
    if int(version.split(".")[0]) >= 3:
        classname = _CLASSNAMES_3X[name]
    with tempfile.TemporaryDirectory(dir=cache) as staging:
        module = Path(staging) / name
        module.mkdir()
        if with_dependencies:
            _maven_copy_with_dependencies(artifact, version, module)
        else:
            _maven_copy(f"{artifact}:{version}:jar", module)
        if policy is not None:
            (module / "plugin-security.policy").write_text(policy)
        descriptor = _DESCRIPTOR.format(
            description=description, version=version, name=name, classname=classname, java=java_needed(version)
        )
        (module / "plugin-descriptor.properties").write_text(descriptor)
        shutil.rmtree(home / "modules" / name, ignore_errors=True)  # a half-built one from an older layout
        os.replace(module, home / "modules" / name)


def _install_knn(home: Path, version: str, cache: Path) -> None:
    """`bin/opensearch-plugin install` of the k-NN zip: it checks the versions and that lang-painless is there."""
    archive = cache / f"{KNN_PLUGIN}-{version}.0.zip"
    if not archive.exists():
        _maven_copy(f"org.opensearch.plugin:{KNN_PLUGIN}:{version}.0:zip", cache)
    env = {**os.environ, "OPENSEARCH_JAVA_HOME": str(java_home(version))}
    env.pop("OPENSEARCH_PATH_CONF", None)  # install into the distribution's own config folder
    cmd = [str(home / "bin" / "opensearch-plugin"), "install", "--batch", archive.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"installing {archive.name} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _complete(home: Path) -> bool:
    wanted = [home / "modules" / name for name in _MODULES] + [home / "plugins" / KNN_PLUGIN]
    return all((folder / "plugin-descriptor.properties").exists() for folder in wanted)


def ensure_distribution(version: str = VERSION, cache: Path | None = None) -> Path:
    """The unpacked node `opensearch-<version>` with mapper-extras, lang-painless and k-NN, built once
    into the cache (an older cache holding only mapper-extras is completed in place)."""
    cache = (cache or cache_dir()) / "opensearch"
    home = cache / f"opensearch-{version}"
    if _complete(home):
        return home
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions starting at once build it once
        if _complete(home):
            return home
        if not home.exists():
            archive = cache / f"opensearch-{version}.zip"
            if not archive.exists():
                _maven_copy(f"org.opensearch.distribution.integ-test-zip:opensearch:{version}:zip", cache)
            with tempfile.TemporaryDirectory(dir=cache) as unpack:
                with zipfile.ZipFile(archive) as z:
                    z.extractall(unpack)
                for script in (Path(unpack) / f"opensearch-{version}" / "bin").iterdir():
                    script.chmod(0o755)  # zipfile drops the executable bits
                os.replace(Path(unpack) / f"opensearch-{version}", home)
        for name in _MODULES:
            if not (home / "modules" / name / "plugin-descriptor.properties").exists():
                _add_module(home, name, version, cache)
        if not (home / "plugins" / KNN_PLUGIN / "plugin-descriptor.properties").exists():
            _install_knn(home, version, cache)
        if as_root():
            for path in [cache, *cache.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o044 | (0o011 if path.is_dir() else 0))
    return home
