"""The package surface: every public name resolves to what it says, lazily where it can."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import acuevidence


def test_every_public_name_resolves():
    for name in acuevidence.__all__:
        assert getattr(acuevidence, name) is not None, name


def test_function_names_survive_their_submodule_being_imported():
    for sub in (m.name for m in pkgutil.iter_modules(acuevidence.__path__)):
        if sub in acuevidence.__all__:
            importlib.import_module(f"acuevidence.{sub}")
            assert callable(getattr(acuevidence, sub)), sub
            assert not isinstance(getattr(acuevidence, sub), type(acuevidence)), sub


def test_import_is_light():
    code = ("import sys, acuevidence; heavy = [m for m in ('matplotlib', 'numba', 'dask', "
            "'fastapi', 'sqlalchemy', 'formulaic', 'jinja2') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
