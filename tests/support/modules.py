"""The roles' Ansible modules in tests: run one as Ansible runs it on a host (the module
file, its arguments in a JSON file, its JSON answer on stdout), or import its file to
call its functions."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_module(module: Path, params: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    argfile = tmp_path / f"{module.stem}-args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    done = subprocess.run(
        [sys.executable, str(module), str(argfile)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    try:
        return dict(json.loads(done.stdout))
    except ValueError:
        raise AssertionError(f"{module.name} printed no JSON: {done.stdout}{done.stderr}") from None


def import_module_file(path: Path) -> Any:
    """The module file imported as a Python module (its functions, not its main())."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
