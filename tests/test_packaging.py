"""The installed package is the source tree: every folder of modules and every data file
the code reads is in pyproject.toml. The test command installs in editable mode, which
finds modules whatever the list says, so a folder missing from it shows only on a plain
`pip install .` (the README's first command); this catches it here."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _source_packages() -> dict[str, Path]:
    """Dotted package name -> folder, for every folder with an __init__.py under the
    folders pyproject maps to top-level packages."""
    out: dict[str, Path] = {}
    for name, folder in SETUP["package-dir"].items():
        if name.count(".") > 1:
            continue
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            out[".".join((name, *rel.parts))] = init.parent
    return out


def test_every_source_package_is_installed() -> None:
    found = _source_packages()
    assert set(found) == set(SETUP["packages"]), "pyproject.toml [tool.setuptools] packages"
    for name, folder in found.items():
        assert (ROOT / SETUP["package-dir"][name]).resolve() == folder.resolve(), name


def test_every_data_file_is_installed() -> None:
    data = SETUP["package-data"]
    for name, folder in _source_packages().items():
        for path in folder.iterdir():
            if path.is_dir() and not (path / "__init__.py").exists() and path.name != "__pycache__":
                files = [f for f in path.rglob("*") if f.is_file()]
            elif path.is_file() and path.suffix not in (".py", ".pyc"):
                files = [path]
            else:
                continue
            for f in files:
                rel = f.relative_to(folder).as_posix()
                if f.suffix == ".py":
                    continue
                assert any(fnmatch(rel, pattern) for pattern in data.get(name, [])), f"{name}: {rel} is not installed"


# Import name -> the distribution that provides it, where they differ.
DISTRIBUTION = {"cv2": "opencv-python-headless"}
# Imported only inside the functions that need them (a clear error names the extra).
EXTRA = {"ray": "ray", "starlette": "ray"}


def test_every_module_the_package_imports_is_a_dependency() -> None:
    # A plain install has the core dependencies only: a module imported from one of the
    # extras must be imported where it is used, never at a module's top level.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    extras = set(project["optional-dependencies"])
    for folder in sorted({ROOT / f for name, f in SETUP["package-dir"].items() if name.count(".") <= 1}):
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            top = {id(n) for n in tree.body}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    mods = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module.split(".")[0]]
                else:
                    continue
                for mod in mods:
                    if mod in sys.stdlib_module_names or mod in ("murakkab", "__future__"):
                        continue
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    if mod in EXTRA:
                        assert EXTRA[mod] in extras and id(node) not in top, f"{where}: {mod} at the top level"
                    else:
                        assert DISTRIBUTION.get(mod, mod).lower() in core, f"{where}: {mod} is not a core dependency"
