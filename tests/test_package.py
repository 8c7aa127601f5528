"""The package surface: every public name resolves to what it says, lazily where it can."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import acuevidence


def test_every_public_name_resolves():
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert acuevidence.__version__ == pyproject["project"]["version"]
    for name in acuevidence.__all__:
        if name == "__version__":
            continue
        obj = getattr(acuevidence, name)
        # a public class or function of the package under its own name, not a module or None
        assert callable(obj) and obj.__name__ == name, name
        assert obj.__module__.startswith("acuevidence."), (name, obj.__module__)


def test_function_names_survive_their_submodule_being_imported():
    shadowed = [m.name for m in pkgutil.iter_modules(acuevidence.__path__)
                if m.name in acuevidence.__all__]
    assert set(shadowed) == {"effect_sizes", "mantel_haenszel"}  # the cases this guards
    for sub in shadowed:
        importlib.import_module(f"acuevidence.{sub}")
        assert callable(getattr(acuevidence, sub)), sub
        assert not isinstance(getattr(acuevidence, sub), type(acuevidence)), sub


def test_import_is_light():
    code = ("import sys, acuevidence; heavy = [m for m in ('matplotlib', 'numba', 'dask', "
            "'fastapi', 'sqlalchemy', 'formulaic', 'jinja2') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
