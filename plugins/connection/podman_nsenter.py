"""Ansible connection to a local, running podman container through nsenter.

The lab hosts and the Molecule hosts are systemd containers on this machine. The stock
`containers.podman.podman` connection runs one `podman exec` per remote step (~0.15 s
each, and four or more steps a task without pipelining). This one enters the container's
namespaces with `nsenter` (~5 ms), with pipelining: a task is one process. The container's
PID changes whenever it is stopped and started (the fault suite does both), so it is
asked of podman (`podman container inspect`, 0.03 CPU-s, thousands of times a CI run)
only when the one remembered in /run/lakefeed-podman-nsenter/ is no longer that process:
the PID is remembered with its start time, and a process of another container, or one
that reused the number, does not have both.

The command runs as root in all of the container's namespaces and cgroups, with an
environment of its own (not the controller's): what `podman exec` gives. The cgroups
matter: a JVM reads its limits through /proc/self/cgroup and fails on a path outside
the container's cgroup mounts, and a stopped container must take its processes along.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

DOCUMENTATION = r"""
name: podman_nsenter
short_description: run tasks in a local podman container by entering its namespaces
description:
  - Runs each command with C(nsenter --target PID --all), PID being the container's main
    process as C(podman container inspect) reports it, remembered while that process runs.
  - Needs root on the controller (nsenter) and a rootful podman container on the same machine.
  - Supports pipelining; the remote user is always root.
options:
  remote_addr:
    description: The name (or id) of the container.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman command used to find the container's PID.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Send modules on standard input instead of copying them to a file first.
    type: boolean
    default: true
    vars:
      - name: ansible_pipelining
"""

display = Display()

# What `podman exec` starts a command with in the lab image; the controller's own
# environment (its virtualenv, PYTHONPATH) must not leak into the host.
ENVIRONMENT = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
    "container=podman",
)


# The PID of each container entered, with that process's start time (root only, gone
# at reboot, as the processes are).
PID_CACHE = Path("/run/lakefeed-podman-nsenter")


def start_time(pid):
    """Process PID's start time (clock ticks after boot, /proc/PID/stat's 22nd field),
    None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count after its last ')'.
    return stat.rsplit(")", 1)[1].split()[19]


def remembered_pid(container):
    """The PID remembered for CONTAINER if that process still runs, else None."""
    try:
        pid, started = (PID_CACHE / container).read_text().split()
    except (OSError, ValueError):
        return None
    return pid if start_time(pid) == started else None


def remember_pid(container, pid):
    started = start_time(pid)
    if started is None:
        return
    try:
        PID_CACHE.mkdir(mode=0o700, exist_ok=True)
        # Several tasks' workers may write at once: each a whole file, renamed into place.
        part = PID_CACHE / f".{container}.{os.getpid()}"
        part.write_text(f"{pid} {started}\n")
        os.replace(part, PID_CACHE / container)
    except OSError as e:  # only a cache: the next task asks podman again
        display.vvv(f"cannot remember the PID of {container}: {e}")


def cgroup_procs_files(pid):
    """The cgroup.procs file of each cgroup of process PID, as this machine mounts them
    (cgroup v1 hierarchies, v2, or both), so that a process can join all of them."""
    mounts = []  # (controllers, mount root, mount point)
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, fs = line.partition(" - ")
        fields, fs = fields.split(), fs.split()
        if len(fs) < 3 or fs[0] not in ("cgroup", "cgroup2"):
            continue
        controllers = set() if fs[0] == "cgroup2" else set(fs[2].split(",")) - {"rw", "ro"}
        mounts.append((controllers, fields[3], fields[4]))
    found = []
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        wanted = set(names.split(",")) if names else set()
        for controllers, root, point in mounts:
            if (wanted <= controllers if wanted else not controllers) and (
                path == root or path.startswith(root.rstrip("/") + "/")
            ):
                relative = path[len(root.rstrip("/")) :].lstrip("/")
                found.append(os.path.join(point, relative, "cgroup.procs"))
                break
    return found


class Connection(ConnectionBase):
    """A connection to one container: a PID looked up at connect time, nsenter per command."""

    transport = "podman_nsenter"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pid = None
        self._container = None
        self._cgroups = []

    def _connect(self):
        if self._connected:
            return self
        self._container = self.get_option("remote_addr")
        if shutil.which("nsenter") is None:
            raise AnsibleConnectionFailure("nsenter is not installed (apt-get install util-linux)")
        pid = remembered_pid(self._container) or self._ask_podman()
        self._pid = pid
        try:
            self._cgroups = cgroup_procs_files(pid)
        except OSError as e:
            raise AnsibleConnectionFailure(
                f"cannot read the cgroups of container {self._container}: {e}"
            ) from e
        self._play_context.remote_user = "root"
        display.vvv(f"NSENTER pid {pid} of container {self._container}", host=self._container)
        self._connected = True
        return self

    def _ask_podman(self):
        """The PID of the container's main process, as podman says, remembered."""
        podman = self.get_option("podman_executable")
        try:
            found = subprocess.run(
                [podman, "container", "inspect", "--format", "{{.State.Pid}}", self._container],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise AnsibleConnectionFailure(f"cannot ask podman for {self._container}: {e}") from e
        pid = found.stdout.strip()
        if found.returncode != 0:
            raise AnsibleConnectionFailure(
                f"container {self._container} not found: {found.stderr.strip()}"
            )
        if not pid.isdigit() or pid == "0":
            raise AnsibleConnectionFailure(
                f"container {self._container} is not running (`podman start {self._container}`)"
            )
        remember_pid(self._container, pid)
        return pid

    def _join_cgroups(self):
        """In the child, before nsenter: move into the container's cgroups."""
        for procs in self._cgroups:
            with open(procs, "w") as f:
                f.write("0\n")

    def _run(self, argv, **kwargs):
        return subprocess.run(argv, preexec_fn=self._join_cgroups, check=False, **kwargs)

    def _argv(self, argv):
        return [
            "nsenter",
            f"--target={self._pid}",
            "--all",
            "--wd=/",
            "--",
            "/usr/bin/env",
            "-i",
            *ENVIRONMENT,
            *argv,
        ]

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        argv = self._argv(shlex.split(to_text(cmd, errors="surrogate_or_strict")))
        display.vvv(f"EXEC {argv}", host=self._container)
        try:
            proc = self._run(
                [to_bytes(a, errors="surrogate_or_strict") for a in argv],
                input=in_data,
                capture_output=True,
            )
        except subprocess.SubprocessError as e:  # the cgroup was gone: it stopped
            raise AnsibleConnectionFailure(f"cannot enter container {self._container}: {e}") from e
        stdout, stderr = proc.stdout, proc.stderr
        if proc.returncode == 1 and b"nsenter: " in stderr and not stdout:
            # The container stopped between the lookup and the command.
            raise AnsibleConnectionFailure(
                f"cannot enter container {self._container}: {to_text(stderr).strip()}"
            )
        return proc.returncode, stdout, stderr

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv(f"PUT {in_path} TO {out_path}", host=self._container)
        argv = self._argv(["/bin/sh", "-c", 'cat > "$1"', "sh", out_path])
        try:
            with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as source:
                done = self._run(argv, stdin=source, capture_output=True)
        except OSError as e:
            raise AnsibleError(f"cannot read {in_path}: {e}") from e
        if done.returncode != 0:
            raise AnsibleError(
                f"failed to write {out_path} in {self._container}: {to_text(done.stderr).strip()}"
            )

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv(f"FETCH {in_path} TO {out_path}", host=self._container)
        argv = self._argv(["/bin/cat", "--", in_path])
        try:
            with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as target:
                done = self._run(argv, stdout=target, stderr=subprocess.PIPE)
        except OSError as e:
            raise AnsibleError(f"cannot write {out_path}: {e}") from e
        if done.returncode != 0:
            raise AnsibleError(
                f"failed to read {in_path} in {self._container}: {to_text(done.stderr).strip()}"
            )

    def close(self):
        self._connected = False
