"""What a deploy of this checkout would put on the hosts, as one comparable value.

Four parts, so a rollout can say what changed: the lakefeed build (the wheel's sha256;
wheels are reproducible, so unchanged sources give the same value), the Ansible side
(site.yml, playbooks, roles, plugins, ansible.cfg), the inventory (committed and generated
settings, vaulted secrets as their ciphertext) and the controller files the inventory
names (`files`: what collector_files copies, a local Kafka archive). The Kafka version is
reported on its own: it is read from the inventory, falling back to the role default.

Each of site.yml's deploying plays (kafka, archive, collect, monitor) also gets a fingerprint of
its own inputs, so a rollout runs only the plays whose inputs changed (`plays_to_run`):
- the Ansible files: the play's playbook and the roles it includes (followed through
  include_role/import_role), plus what every play uses (site.yml, ansible.cfg, plugins/,
  the other playbooks: check.yml, record.yml);
- the lakefeed build, for the plays that include the lakefeed role;
- the inventory variables the play can read: a variable counts for a play when its name
  appears anywhere in the play's files, when it is one of Ansible's own (`ansible_*`), or
  when the value of a variable that counts names it (a template). A vaulted variable file
  is read with the vault password when the runner has it, and each of its variables counts
  as the others do, by name, its value as an HMAC keyed with that password (a secret's
  digest never leaves the controller, and none can be guessed from a record); without
  the password, and for files that are not plain variable files (hosts.yml, anything not
  a mapping), the file counts for every play. A variable no file of a play names cannot
  change what the play does; the rule errs towards running a play, never towards
  skipping one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from lakefeed.errors import ConfigError

# Nothing below these changes what a deploy does.
_SKIP_DIRS = {"molecule", "__pycache__", ".pytest_cache", "ops"}

# site.yml's plays that change hosts, by the name a rollout gives them, and their playbooks.
PLAYS = {
    "kafka": "playbooks/kafka.yml",
    "topics": "playbooks/topics.yml",
    "archive": "playbooks/archive.yml",
    "collect": "playbooks/collect.yml",
    "monitor": "playbooks/monitor.yml",
}
# The inventory groups each play runs on.
PLAY_GROUPS = {
    "kafka": ("kafka_controller", "kafka"),
    "topics": ("kafka",),
    "archive": ("archiver", "shipper"),
    "collect": ("collector",),
    "monitor": ("monitoring",),
}
# The service lines lakefeed_status reports (drift), by the play that deploys them.
_SERVICE_PLAYS = (
    ("kafka", "kafka"),
    ("lakefeed-archiver", "archive"),
    ("lakefeed-shipper", "archive"),
    ("lakefeed-collector", "collect"),
    ("prometheus", "monitor"),
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INCLUDES = {
    "include_role",
    "import_role",
    "ansible.builtin.include_role",
    "ansible.builtin.import_role",
}
_TASK_INCLUDES = {
    "include_tasks",
    "import_tasks",
    "ansible.builtin.include_tasks",
    "ansible.builtin.import_tasks",
}
# A role's parts whose words count only as far as a play reaches them: its task files
# (followed from the entry point the play uses), its variables (through what names them).
# Its controller checks (tasks/check.yml, meta/argument_specs.yml) run in check.yml's play
# on every run and change no host: a variable they alone name counts for no play.
_REACHED_PARTS = {"tasks", "vars", "defaults"}
_CHECK_FILES = {("tasks", "check.yml"), ("meta", "argument_specs.yml")}


def _files(root: Path, paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not _SKIP_DIRS.intersection(rel.parts[:-1]):
                    yield child


def digest(root: Path, paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in _files(root, paths):
        name = str(f.relative_to(root)) if f.is_relative_to(root) else str(f)
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def inventory_settings(
    root: Path, inventories: Iterable[Path], name: str
) -> list[tuple[Path, Any]]:
    """(file, value) for each plain YAML file of the inventories' group_vars and hosts.yml
    that sets `name`, in the order Ansible reads them (a later one wins). Vaulted files
    are skipped; ConfigError names a file that mentions `name` and is not YAML."""
    found: list[tuple[Path, Any]] = []
    for inv in inventories:
        for f in _files(root, [inv / "group_vars", inv / "hosts.yml"]):
            if f.suffix not in (".yml", ".yaml"):
                continue
            text = f.read_text(encoding="utf-8", errors="replace")
            if text.startswith("$ANSIBLE_VAULT") or name not in text:
                continue
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ConfigError(f"{f}: not YAML ({exc})") from exc
            if isinstance(data, dict) and name in data:
                found.append((f, data[name]))
    return found


def kafka_version(root: Path, inventories: Iterable[Path]) -> str:
    """The kafka_version a deploy would use: the inventory's, else the role default."""
    found = inventory_settings(root, inventories, "kafka_version")
    if found:
        return str(found[-1][1])
    defaults = yaml.safe_load((root / "roles/kafka/defaults/main.yml").read_text())
    return str(defaults["kafka_version"])


class _AnyTagLoader(yaml.SafeLoader):
    """Reads Ansible's YAML (`!vault`, `!unsafe`): a tagged value is kept as its text."""


_AnyTagLoader.add_multi_constructor(
    "!",
    lambda loader, _suffix, node: (
        loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
    ),
)


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_AnyTagLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return None


def _included_roles(node: Any, found: set[str]) -> None:
    """Role names a task list or play includes (include_role, import_role, roles:)."""
    entries: set[tuple[str, str]] = set()
    _entries(node, entries)
    found.update(role for role, _ in entries)


def play_roles(root: Path, playbook: Path) -> set[str]:
    """The roles a playbook runs, followed through the roles' own includes. A role name
    that is a template (decided at run time) means every role."""
    found: set[str] = set()
    _included_roles(_load(playbook.read_text(encoding="utf-8")), found)
    todo, seen = set(found), set()
    while todo:
        role = todo.pop()
        seen.add(role)
        if "{" in role or not (root / "roles" / role).is_dir():
            return {p.name for p in (root / "roles").iterdir() if p.is_dir()}
        for f in _files(root, [root / "roles" / role]):
            if f.suffix in (".yml", ".yaml") and f.parts[-2] in ("tasks", "handlers", "meta"):
                more: set[str] = set()
                _included_roles(_load(f.read_text(encoding="utf-8")), more)
                todo |= more - seen
    return seen


def _entries(node: Any, found: set[tuple[str, str]]) -> None:
    """(role, tasks file) pairs a play or task list enters: `roles:` and meta dependencies
    at main.yml, include_role/import_role at their tasks_from."""
    if isinstance(node, list):
        for item in node:
            _entries(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _INCLUDES and isinstance(value, dict):
                found.add((str(value.get("name", "")), str(value.get("tasks_from", "main"))))
            elif key in ("roles", "dependencies") and isinstance(value, list):
                for role in value:
                    name = (
                        role.get("role", role.get("name", "")) if isinstance(role, dict) else role
                    )
                    found.add((str(name), "main"))
            _entries(value, found)


def _task_includes(node: Any, found: set[str]) -> None:
    """The files a task list includes with include_tasks/import_tasks."""
    if isinstance(node, list):
        for item in node:
            _task_includes(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _TASK_INCLUDES:
                name = value.get("file", "") if isinstance(value, dict) else value
                found.add(str(name))
            _task_includes(value, found)


def _yaml_name(name: str) -> str:
    return name if name.endswith((".yml", ".yaml")) else name + ".yml"


def reached_files(root: Path, playbook: Path) -> list[Path] | None:
    """The files whose words a play can act on: the playbook, the task files it reaches
    (from each role's entry point, through include_tasks/import_tasks and include_role),
    and every other file of the roles it runs except their variables (see
    `role_variables`) and their controller checks. None when a role or task file is named
    by a template (decided at run time): then every file counts."""
    found: set[tuple[str, str]] = set()
    _entries(_load(playbook.read_text(encoding="utf-8")), found)
    todo = [(role, root / "roles" / role / "tasks" / _yaml_name(entry)) for role, entry in found]
    tasks: set[Path] = set()
    roles: set[str] = set()
    while todo:
        role, path = todo.pop()
        if "{" in role or "{" in path.name or not (root / "roles" / role).is_dir():
            return None
        if role not in roles:
            roles.add(role)
            # A role's handlers and meta dependencies count whole, with what they include.
            for part in ("handlers", "meta"):
                for f in _files(root, [root / "roles" / role / part]):
                    if f.suffix in (".yml", ".yaml") and f.name != "argument_specs.yml":
                        todo.append((role, f))
        if path in tasks:
            continue
        if not path.is_file():
            if path.parent.name == "tasks" and path.name == "main.yml":
                continue  # a role without tasks (variables or handlers only)
            return None
        tasks.add(path)
        node = _load(path.read_text(encoding="utf-8"))
        more: set[tuple[str, str]] = set()
        _entries(node, more)
        todo += [(r, root / "roles" / r / "tasks" / _yaml_name(e)) for r, e in more]
        included: set[str] = set()
        _task_includes(node, included)
        for name in included:
            if "{" in name:
                return None
            # Relative to the including file, else to the role's tasks directory.
            here = path.parent / name
            todo.append((role, here if here.is_file() else root / "roles" / role / "tasks" / name))
    files = [playbook]
    for role in sorted(roles):
        for f in _files(root, [root / "roles" / role]):
            part = f.relative_to(root / "roles" / role).parts
            if part[0] == "tasks":
                if f in tasks and (part[0], f.name) not in _CHECK_FILES:
                    files.append(f)
            elif part[0] not in _REACHED_PARTS and (part[0], f.name) not in _CHECK_FILES:
                files.append(f)
    return files


def role_variables(root: Path, roles: Iterable[str]) -> tuple[dict[str, set[str]], set[str]]:
    """The words each variable of the roles' vars/ and defaults/ files names (a role
    variable counts for a play only when something the play reaches names it, and then
    what its value names counts too), and the words of any such file that is not a plain
    mapping, which count whole."""
    named: dict[str, set[str]] = {}
    whole: set[str] = set()
    for role in roles:
        for f in _files(root, [root / "roles" / role / "vars", root / "roles" / role / "defaults"]):
            text = f.read_text(encoding="utf-8")
            data = _load(text)
            if not isinstance(data, dict):
                whole.update(_WORD.findall(text))
                continue
            for key, value in data.items():
                named.setdefault(str(key), set()).update(
                    _WORD.findall(json.dumps(value, default=str))
                )
    return named, whole


def _vault_password(password_file: Path | None) -> bytes | None:
    """The vault password as Ansible reads it (a file's text, or a script's output), or
    None when there is none or Ansible is not installed here."""
    if password_file is None or not password_file.is_file():
        return None
    try:  # the controller's Ansible; the wheel also goes to hosts, which have none
        from ansible.errors import AnsibleError  # noqa: PLC0415
        from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415
        from ansible.parsing.vault import get_file_vault_secret  # noqa: PLC0415
    except ImportError:
        return None
    try:
        secret = get_file_vault_secret(filename=str(password_file), loader=DataLoader())
        secret.load()
    except (AnsibleError, OSError):
        return None  # the deploy itself says what is wrong with the password file
    return secret.bytes


def _decrypt(text: str, password: bytes | None) -> Any:
    """A vaulted variable file's data, or None when it cannot be decrypted with `password`."""
    if password is None:
        return None
    from ansible.errors import AnsibleError  # noqa: PLC0415
    from ansible.parsing.vault import VaultLib, VaultSecret  # noqa: PLC0415

    try:
        plain = VaultLib([("default", VaultSecret(password))]).decrypt(text)
    except AnsibleError:
        return None
    return _load(plain.decode("utf-8", errors="replace"))


def _sealed(password: bytes, name: str, text: str) -> str:
    """A vaulted variable's value (`text`, its JSON) as the fingerprint keeps it: an HMAC
    keyed with the vault password, which changes exactly when the value does."""
    mac = hmac.new(password, f"{name}\0{text}".encode(), hashlib.sha256).hexdigest()[:32]
    return json.dumps(f"vaulted {mac}")


def _template_words(text: str) -> set[str]:
    """The words of a value that is a template (the variables it may read), else none.
    Names are not secret: a vaulted template's names decide which plays read it too."""
    return set(_WORD.findall(text)) if "{{" in text or "{%" in text else set()


def _inventory(
    root: Path, inventories: Iterable[Path], vault_password: bytes | None = None
) -> tuple[str, list[tuple[str, str, str]], dict[str, set[str]]]:
    """The inventory as (a digest of the files every play depends on, the variables of
    plain group_vars/host_vars files, and of vaulted ones `vault_password` opens, as
    (file, name, value as JSON), and the words each template value holds, by variable)."""
    whole = hashlib.sha256()
    variables = []
    templates: dict[str, set[str]] = {}
    for f in _files(root, inventories):
        name = str(f.relative_to(root)) if f.is_relative_to(root) else str(f)
        text = f.read_text(encoding="utf-8", errors="replace")
        data = None
        vaulted = text.startswith("$ANSIBLE_VAULT")
        if {"group_vars", "host_vars"} & set(f.parts):
            data = _decrypt(text, vault_password) if vaulted else _load(text)
        if isinstance(data, dict) and all(isinstance(k, str) for k in data):
            for key, value in data.items():
                as_json = json.dumps(value, sort_keys=True, default=str)
                if words := _template_words(as_json):
                    templates.setdefault(key, set()).update(words)
                if vaulted:
                    assert vault_password is not None
                    as_json = _sealed(vault_password, key, as_json)
                variables.append((name, key, as_json))
        elif data is None and text.strip() in ("", "---"):
            continue
        else:
            whole.update(name.encode() + b"\0" + hashlib.sha256(text.encode()).digest())
    return whole.hexdigest()[:16], variables, templates


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:16]


def _named_files(root: Path, variables: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """Variable -> the controller files its value names, as "path digest": what a role
    copies from the controller (collector_files' src, kafka_local_archive). Their content
    is an input like the variable itself. A path is taken when it is absolute (after `~`
    and `{{ playbook_dir }}`) and is a file; other paths a role resolves itself."""
    playbooks = str(root / "playbooks")
    seen: dict[str, str] = {}
    out: dict[str, list[str]] = {}

    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for item in node:
                yield from strings(item)
        elif isinstance(node, dict):
            for item in node.values():
                yield from strings(item)

    for _, name, value in variables:
        if name.startswith("ansible_"):
            continue  # connection settings (an SSH key file), not what a play deploys
        for given in strings(json.loads(value)):
            text = given.replace("{{ playbook_dir }}", playbooks)
            text = text.replace("{{playbook_dir}}", playbooks)
            if "{" in text or "/" not in text or "\n" in text:
                continue
            path = Path(text).expanduser()
            if not path.is_absolute() or not path.is_file():
                continue
            key = str(path.resolve())
            if key not in seen:
                try:
                    seen[key] = _file_digest(path)
                except OSError as exc:  # the role will say what is wrong with it
                    seen[key] = f"unreadable ({exc.strerror})"
            # Named as the inventory names it: the same checkout in another directory
            # (a second clone, the change matrix's copy) is the same deploy.
            out.setdefault(name, []).append(f"{given} {seen[key]}")
    return out


def _play_fingerprints(
    root: Path,
    variables: list[tuple[str, str, str]],
    templates: dict[str, set[str]],
    named: dict[str, list[str]],
    *,
    inventory_whole: str,
    build: str,
) -> dict[str, str]:
    shared = [root / "site.yml", root / "ansible.cfg", root / "plugins"] + [
        p
        for p in sorted((root / "playbooks").iterdir())
        if str(p.relative_to(root)) not in PLAYS.values() and p.name not in _SKIP_DIRS
    ]
    shared_digest = digest(root, shared)
    names = {name for _, name, _ in variables}
    # What each variable's value names (a template reading other variables).
    reads = {name: words & names for name, words in templates.items()}
    out = {}
    for play, playbook in PLAYS.items():
        roles = sorted(play_roles(root, root / playbook))
        files = [root / playbook] + [root / "roles" / r for r in roles]
        reached = reached_files(root, root / playbook)
        words: set[str] = set()
        for f in _files(root, files if reached is None else reached):
            words.update(_WORD.findall(f.read_text(encoding="utf-8", errors="replace")))
        # What the words name, followed through role variables and inventory templates.
        defined, whole = ({}, set()) if reached is None else role_variables(root, roles)
        words |= whole
        todo = set(words)
        while todo:
            word = todo.pop()
            more = (defined.get(word, set()) | reads.get(word, set())) - words
            words |= more
            todo |= more
        used = {n for n in names if n in words or n.startswith("ansible_")}
        blob = {
            "shared": shared_digest,
            "files": digest(root, files),
            "build": build if "lakefeed" in roles else "",
            "inventory": inventory_whole,
            "variables": sorted(v for v in variables if v[1] in used),
            "named_files": sorted(f for n in used for f in named.get(n, [])),
        }
        out[play] = hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]
    return out


def desired(
    root: Path,
    inventories: Iterable[Path],
    wheel: Path,
    vault_password_file: Path | None = None,
) -> dict[str, Any]:
    """The deploy's fingerprint, its parts and its plays' fingerprints. With the vault's
    password file, vaulted variables count for the plays that read them (else for all)."""
    inventories = list(inventories)
    parts = {
        "build": wheel.name.split("-py3")[0]
        + "-"
        + hashlib.sha256(wheel.read_bytes()).hexdigest()[:12],
        "kafka_version": kafka_version(root, inventories),
        "ansible": digest(
            root,
            [
                root / "site.yml",
                root / "ansible.cfg",
                root / "playbooks",
                root / "roles",
                # The lakefeed_login lookup decides the Kafka passwords the hosts get.
                root / "plugins",
            ],
        ),
        "inventory": digest(root, inventories),
    }
    inventory_whole, variables, templates = _inventory(
        root, inventories, _vault_password(vault_password_file)
    )
    # The controller files the inventory names (collector_files, a local Kafka archive),
    # hashed once here for the whole record and for each play.
    named = _named_files(root, variables)
    every_named = sorted(f for files in named.values() for f in files)
    parts["files"] = hashlib.sha256("\n".join(every_named).encode()).hexdigest()[:16]
    blob = json.dumps(parts, sort_keys=True).encode()
    return {
        "fingerprint": hashlib.sha256(blob).hexdigest()[:20],
        **parts,
        "plays": _play_fingerprints(
            root, variables, templates, named, inventory_whole=inventory_whole, build=parts["build"]
        ),
    }


def changed_parts(want: dict[str, Any], have: dict[str, Any] | None) -> list[str]:
    """Which parts differ ("new host" when the host never completed a deploy)."""
    if not have or "fingerprint" not in have:
        return ["new host"]
    return [
        k
        for k in ("build", "kafka_version", "ansible", "inventory", "files")
        if want[k] != have.get(k)
    ]


def plays_to_run(
    want: dict[str, Any],
    have: dict[str, Any] | None,
    drift: Iterable[str] = (),
    groups: Iterable[str] | None = None,
) -> set[str]:
    """The plays a host needs: those whose fingerprint differs from its record (all of
    them for a host with no record, or a record from before plays had their own), and
    those deploying a service that drifted (a line of lakefeed_status's `stale`). With the
    host's inventory groups, only plays that run on them."""
    recorded = (have or {}).get("plays")
    if not isinstance(recorded, dict):
        need = set(PLAYS)
    else:
        need = {p for p, fp in want["plays"].items() if recorded.get(p) != fp}
    for line in drift:
        service = line.split(":", 1)[0].split()[0]
        plays = {p for prefix, p in _SERVICE_PLAYS if service.startswith(prefix)}
        need |= plays or set(PLAYS)
    if groups is not None:
        need = {p for p in need if set(PLAY_GROUPS[p]) & set(groups)}
    return need
