"""The roles' Ansible modules in tests: run one as Ansible runs it on a host (the module
file, its arguments in a JSON file, its JSON answer on stdout), or import its file to
call its functions. Either way the files of its role's module_utils are importable as
`ansible.module_utils.<name>`, as Ansible ships them with the module."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Run in the module's process: its role's module_utils registered, then the module file
# as __main__ with its argument file, as AnsiballZ runs it on a host.
_LAUNCHER = """
import runpy, sys
sys.path.insert(0, sys.argv[1])
from tests.support.modules import register_module_utils
register_module_utils(sys.argv[2])
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def register_module_utils(module: Path | str) -> None:
    """Make each file of the module's role's module_utils importable as
    `ansible.module_utils.<stem>`."""
    import ansible.module_utils  # noqa: PLC0415

    for util in sorted((Path(module).resolve().parent.parent / "module_utils").glob("*.py")):
        name = f"ansible.module_utils.{util.stem}"
        spec = importlib.util.spec_from_file_location(name, util)
        assert spec and spec.loader
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        spec.loader.exec_module(loaded)
        setattr(ansible.module_utils, util.stem, loaded)


def run_module(module: Path, params: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    argfile = tmp_path / f"{module.stem}-args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(ROOT), str(module), str(argfile)],
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
    register_module_utils(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
