"""The package as users install it: the sdist, the wheel built from it, and that wheel
installed with an extra into a fresh virtual environment, running the README's quickstart.

``python -m build --no-isolation`` builds the sdist and then the wheel from the sdist (so
the sdist is shown to rebuild), with build and setuptools from this environment: nothing is
downloaded. A fresh environment sees this environment's site-packages through a ``.pth``
file (torch and JAX are not installed again), and pip installs the wheel *with* its extra
and ``--no-index``: the extra's requirements must resolve against what is installed here.
About 15 s (one build, two environments, the torch and the JAX quickstart).
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

import segloss_xp

# found, not imported: importing setuptools here would patch distutils for the whole session
if importlib.util.find_spec("build") is None or importlib.util.find_spec("setuptools") is None:
    pytest.skip("building the wheel needs build and setuptools>=77", allow_module_level=True)
requirements = pytest.importorskip("packaging.requirements", reason="packaging is missing")
try:
    import fcntl
except ImportError:  # Windows: no lock (run the module in one process there)
    fcntl = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
VERSION = segloss_xp.__version__
# what users install; [all] is every runtime extra but cupy (it computes only on an NVIDIA
# GPU and has no macOS wheels: the decision is stated in pyproject.toml)
RUNTIME_EXTRAS = {"torch", "jax", "cupy", "dask", "scipy", "keras"}
ALL_EXTRA = RUNTIME_EXTRAS - {"cupy"}
# what ./dev, nox and CI install: never part of a user's [all]
DEVELOPER_EXTRAS = {"test", "docs", "bench", "peers", "lint", "ci"}
NOT_SHIPPED = ("tests/", "conformance/", "benchmarks/", "docs/", "examples/")
# names the build could leave in the checkout (all ignored by .gitignore)
BUILD_LEFTOVERS = re.compile(r"(^|/)(build|dist)/|\.egg-info(/|$)|\.whl$|\.tar\.gz$")
TIMEOUT = 300


def _untracked() -> set[str] | None:
    """Untracked, not ignored files of the checkout (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return set(out.splitlines())


def _build(out: Path) -> None:
    """Build into ``out`` (the sdist, the wheel from it, the untracked files the build added)."""
    before = _untracked()
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    after = _untracked()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    added = None if before is None or after is None else sorted(after - before)
    (out / "added.json").write_text(json.dumps(added))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sdist and the wheel built from it, and the untracked files the build added.

    Built once per session: pytest-xdist workers share it under a lock (two builds at once
    would both write segloss_xp.egg-info in the checkout).
    """
    shared = os.environ.get("PYTEST_XDIST_WORKER") is not None
    root = tmp_path_factory.getbasetemp().parent if shared else tmp_path_factory.getbasetemp()
    out = root / "segloss_xp_dist"
    with open(root / "segloss_xp_dist.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "added.json").exists():
            out.mkdir(exist_ok=True)
            _build(out)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    added = json.loads((out / "added.json").read_text())
    return {"sdist": sdist, "wheel": wheel, "added": added}


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"segloss_xp-{VERSION}.dist-info/METADATA").decode("utf-8")
    return email.parser.Parser().parsestr(text)


def _key(requirement: str) -> tuple[str, str, frozenset[str]]:
    """A requirement as a comparable (name, specifier set, extras) triple."""
    parsed = requirements.Requirement(requirement)
    name = re.sub(r"[-_.]+", "-", parsed.name).lower()
    return name, str(sorted(str(s) for s in parsed.specifier)), frozenset(parsed.extras)


def _requires_by_extra(meta: Message) -> dict[str | None, set[tuple[str, str, frozenset[str]]]]:
    """Requires-Dist grouped by the extra whose marker selects it (None: always)."""
    grouped: dict[str | None, set[tuple[str, str, frozenset[str]]]] = {}
    for line in meta.get_all("Requires-Dist") or []:
        parsed = requirements.Requirement(line)
        marker = parsed.marker
        parsed.marker = None
        extras = [None] if marker is None else [
            e for e in meta.get_all("Provides-Extra") or [] if marker.evaluate({"extra": e})
        ]
        assert extras, f"Requires-Dist {line!r} belongs to no extra"
        for extra in extras:
            grouped.setdefault(extra, set()).add(_key(str(parsed)))
    return grouped


def test_build_leaves_no_untracked_files(dist: dict[str, Any]) -> None:
    if dist["added"] is None:
        pytest.skip("not a git checkout (or git is missing): nothing to compare")
    leftovers = sorted(p for p in dist["added"] if BUILD_LEFTOVERS.search(p))
    assert not leftovers, f"the build left untracked files in the checkout: {leftovers}"


def test_wheel_metadata(dist: dict[str, Any]) -> None:
    meta = _metadata(dist["wheel"])
    assert meta["Name"] == PROJECT["name"] == "segloss_xp"
    assert meta["Version"] == VERSION
    assert meta["Summary"] == PROJECT["description"]
    assert meta["Requires-Python"] == PROJECT["requires-python"] == ">=3.11"
    assert meta["License-Expression"] == PROJECT["license"] == "BSD-3-Clause"
    classifiers = set(meta.get_all("Classifier") or [])
    assert classifiers == set(PROJECT["classifiers"])
    assert {
        "Programming Language :: Python :: 3.11",
        "Operating System :: OS Independent",
        "Typing :: Typed",
    } <= classifiers
    # a license classifier beside a license expression is refused by PyPI (PEP 639)
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert meta["Keywords"]
    assert meta["Description-Content-Type"] == "text/markdown"
    readme = (ROOT / "README.md").read_text("utf-8")
    assert meta.get_payload().strip() == readme.strip()


def test_wheel_requirements_and_extras(dist: dict[str, Any]) -> None:
    meta = _metadata(dist["wheel"])
    assert set(meta.get_all("Provides-Extra") or []) == set(EXTRAS)
    assert RUNTIME_EXTRAS | {"all"} | DEVELOPER_EXTRAS == set(EXTRAS)
    grouped = _requires_by_extra(meta)
    assert grouped[None] == {_key(r) for r in PROJECT["dependencies"]}
    for extra, listed in EXTRAS.items():
        assert grouped[extra] == {_key(r) for r in listed}, extra
    # [all] is the runtime backends and nothing a developer needs
    (all_requirement,) = EXTRAS["all"]
    parsed = requirements.Requirement(all_requirement)
    assert parsed.name == "segloss_xp"
    assert set(parsed.extras) == ALL_EXTRA


def test_wheel_holds_only_the_package(dist: dict[str, Any]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as archive:
        names = archive.namelist()
    info = f"segloss_xp-{VERSION}.dist-info/"
    assert [n for n in names if not n.startswith(("segloss_xp/", info))] == []
    assert "segloss_xp/py.typed" in names
    package = {n for n in names if n.startswith("segloss_xp/")}
    on_disk = {  # every file below segloss_xp/: a data file needs its package-data line
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "segloss_xp").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert package == on_disk
    with zipfile.ZipFile(dist["wheel"]) as archive:
        assert archive.read(info + "top_level.txt").decode().split() == ["segloss_xp"]
        # the license text ships beside the SPDX expression (PEP 639 License-File)
        assert archive.read(info + "licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        assert "License-File: LICENSE" in archive.read(info + "METADATA").decode("utf-8")


def test_sdist_holds_what_a_rebuild_needs(dist: dict[str, Any]) -> None:
    with tarfile.open(dist["sdist"]) as archive:
        names = {m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile()}
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "PKG-INFO"} <= names
    assert [n for n in names if n.startswith(NOT_SHIPPED)] == []
    with zipfile.ZipFile(dist["wheel"]) as archive:  # the wheel was built from this sdist
        wheel_package = {n for n in archive.namelist() if n.startswith("segloss_xp/")}
    assert {n for n in names if n.startswith("segloss_xp/")} == wheel_package


def _fresh_environment(path: Path) -> Path:
    """A virtual environment without pip that sees this environment's packages."""
    try:
        importlib.metadata.version("pip")  # not find_spec: setuptools' distutils hack warns
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("pip is not installed here (it installs into the fresh environment)")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)],
        check=True, timeout=TIMEOUT,
    )
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, timeout=TIMEOUT,
    ).stdout.strip()
    shared = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    # .pth lines are appended after the environment's own site-packages: the installed
    # wheel comes first, and .pth files over there (the editable install) are not run
    (Path(site) / "_segloss_xp_test_shared.pth").write_text("\n".join(shared) + "\n")
    return python


def _pip_install(python: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """pip of this environment installing into ``python``'s, with no index nor config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no index, find-links or constraints from config
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
         "--no-input", "--disable-pip-version-check", *arguments],
        capture_output=True, text=True, env=env, timeout=TIMEOUT,
    )


def _quickstart(module: str) -> str:
    """The README's first Python example that imports ``module``."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    found = [b for b in blocks if re.search(rf"^import .*\b{module}\b", b, flags=re.M)]
    assert found, f"README.md has no Python example importing {module}"
    return found[0]


@pytest.mark.parametrize("extra", ["torch", "jax"])
def test_wheel_with_extra_runs_readme_quickstart(
    dist: dict[str, Any], extra: str, tmp_path: Path
) -> None:
    if importlib.util.find_spec(extra) is None:
        pytest.skip(f"{extra} is not installed here (the fresh environment borrows it)")
    python = _fresh_environment(tmp_path / "env")
    done = _pip_install(python, f"{dist['wheel']}[{extra}]")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "does not provide the extra" not in output
    for requirement in EXTRAS[extra]:  # the extra was resolved (against what is here)
        name = re.escape(requirements.Requirement(requirement).name)
        assert re.search(rf"Requirement already satisfied: {name}\b", output, flags=re.I), (
            f"pip did not resolve {requirement!r} of [{extra}]:\n{output[-4000:]}"
        )
    script = tmp_path / "quickstart.py"  # outside the checkout: no import from the sources
    script.write_text(
        _quickstart(extra) + "\nimport segloss_xp\nprint('FILE=' + segloss_xp.__file__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    ran = subprocess.run(
        [str(python), str(script)],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=TIMEOUT,
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]
    (imported,) = re.findall(r"^FILE=(.*)$", ran.stdout, flags=re.M)
    assert Path(imported).resolve().is_relative_to((tmp_path / "env").resolve()), imported


def test_all_extra_resolves_offline(dist: dict[str, Any], tmp_path: Path) -> None:
    missing = sorted(m for m in ALL_EXTRA if importlib.util.find_spec(m) is None)
    if missing:
        pytest.skip(f"[all] needs {missing}, not installed here")
    python = _fresh_environment(tmp_path / "env")
    done = _pip_install(python, "--dry-run", f"{dist['wheel']}[all]")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "does not provide the extra" not in output
    assert re.findall(r"^Would install (.*)$", output, flags=re.M) == [f"segloss_xp-{VERSION}"]
