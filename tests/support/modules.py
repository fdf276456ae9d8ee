"""Run one of the roles' Ansible modules as Ansible runs it on a host: the module file,
its arguments in a JSON file, its JSON answer on stdout."""

from __future__ import annotations

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
