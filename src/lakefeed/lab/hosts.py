"""The lab's hosts: Debian systemd containers under rootful Podman, on a private network.

`lakefeed up --env lab` and the tests use these instead of machines: each host boots
systemd as PID 1, has its own address on a bridge network where the other hosts resolve it
by name, and reaches the Debian mirror through NAT, so the Ansible roles run on it as on a
real machine. The image is made by scripts/lab-hosts-setup (`ensure_prereqs()`).

Everything here is idempotent: creating what exists reuses it, removing what is gone does
nothing. Every container and network carries the label `lakefeed.lab=<prefix>`, so a later
`Lab(prefix).down()` finds what an earlier process started.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from lakefeed.errors import LakefeedError

logger = logging.getLogger(__name__)

IMAGE = "localhost/lakefeed-debian-bookworm-systemd"
LABEL = "lakefeed.lab"
SETUP_SCRIPT = Path("scripts") / "lab-hosts-setup"
FIX = "run scripts/lab-hosts-setup as root"


class LabError(LakefeedError):
    """A lab host or network could not be created, started, reached or removed."""


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def podman(
    *args: str, check: bool = True, timeout: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS`; with `check`, a non-zero exit is a LabError quoting its stderr."""
    argv = ["podman", *args]
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
        )
    except FileNotFoundError as e:
        raise LabError(f"podman is not installed: {FIX}") from e
    except subprocess.TimeoutExpired as e:
        raise LabError(
            f"`{' '.join(argv)}` did not finish in {timeout:.0f}s; "
            "see `podman ps -a` and `podman system df` for a stuck container or store lock"
        ) from e
    if check and result.returncode != 0:
        raise LabError(
            f"`{' '.join(argv)}` failed with exit {result.returncode}:\n"
            f"{_tail(result.stderr) or _tail(result.stdout)}"
        )
    return result


def find_setup_script(start: Path | None = None) -> Path:
    """scripts/lab-hosts-setup of the checkout this module (or `start`) lives in."""
    here = (start or Path(__file__)).resolve()
    for parent in [here, *here.parents]:
        candidate = parent / SETUP_SCRIPT
        if candidate.is_file():
            return candidate
    raise LabError(
        f"{SETUP_SCRIPT} not found above {here}: run lakefeed from a checkout of the "
        "repository, or pass the script's path to ensure_prereqs()"
    )


def ensure_prereqs(script: Path | str | None = None) -> str:
    """Install Podman and build the host image if needed; returns the image name.

    The first run on a machine takes one or two minutes (debootstrap); later runs about a
    second, and a few seconds when only the Podman store was wiped (cached rootfs).
    """
    path = Path(script) if script is not None else find_setup_script()
    if os.geteuid() != 0:
        raise LabError(
            f"the lab needs root (rootful Podman, apt-get, network setup): "
            f"run as root, or run `sudo {path}` once and then lakefeed as root"
        )
    logger.info("preparing lab hosts with %s", path)
    started = time.monotonic()
    seen: list[str] = []
    try:
        with subprocess.Popen(
            [str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
        ) as proc:
            assert proc.stderr is not None
            assert proc.stdout is not None
            # The script reports progress on stderr (debootstrap takes a minute): pass it on
            # as it comes. It prints only the image name on stdout, so that pipe cannot fill.
            for line in proc.stderr:
                seen.append(line.rstrip("\n"))
                logger.info("%s", seen[-1])
            out = proc.stdout.read()
            code = proc.wait()
    except OSError as e:
        raise LabError(f"cannot run {path}: {e}") from e
    if code != 0:
        raise LabError(f"{path} failed with exit {code}:\n" + "\n".join(seen[-15:]))
    image = out.strip().splitlines()[-1] if out.strip() else IMAGE
    logger.info("lab image %s ready in %.1fs", image, time.monotonic() - started)
    return image


class LabNetwork:
    """A Podman bridge network; its DNS (aardvark-dns) resolves each host by its name."""

    def __init__(
        self,
        name: str,
        subnet: str | None = None,
        labels: Mapping[str, str] | None = None,
        *,
        dns: bool = True,
    ) -> None:
        self.name = name
        self.subnet = subnet
        self.labels = dict(labels or {})
        # False: no name resolution at all (the AWS rehearsal: hosts know each other
        # only as the roles tell them, as in a VPC).
        self.dns = dns

    def exists(self) -> bool:
        return podman("network", "exists", self.name, check=False).returncode == 0

    def create(self) -> LabNetwork:
        if self.exists():
            logger.info("network %s exists, reusing it", self.name)
            return self
        args = ["network", "create"]
        if self.subnet:
            args += ["--subnet", self.subnet]
        if not self.dns:
            args.append("--disable-dns")
        for key, value in self.labels.items():
            args += ["--label", f"{key}={value}"]
        result = podman(*args, self.name, check=False)
        if result.returncode != 0 and not self.exists():  # not a concurrent create
            hint = " (is the subnet already used by another network?)" if self.subnet else ""
            raise LabError(
                f"cannot create network {self.name}{hint}: {_tail(result.stderr)}\n"
                f"see `podman network ls`; if podman itself fails, {FIX}"
            )
        logger.info("created network %s", self.name)
        return self

    def remove(self) -> None:
        if not self.exists():
            return
        result = podman("network", "rm", self.name, check=False)
        if result.returncode != 0 and self.exists():
            users = podman(
                "ps",
                "-a",
                "--filter",
                f"network={self.name}",
                "--format",
                "{{.Names}}",
                check=False,
            ).stdout.split()
            raise LabError(
                f"cannot remove network {self.name}: {_tail(result.stderr)}\n"
                f"containers still on it: {', '.join(users) or 'none listed'}; "
                f"remove them first (`podman rm -f NAME`)"
            )
        logger.info("removed network %s", self.name)


class LabHost:
    """One Debian host: a container with systemd as PID 1 on a lab network."""

    def __init__(
        self,
        name: str,
        network: LabNetwork | str,
        image: str = IMAGE,
        hostname: str | None = None,
        extra_args: Sequence[str] = (),
        *,
        memory: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.network = network.name if isinstance(network, LabNetwork) else network
        self.image = image
        # Ansible's hostname module cannot change a container's hostname: set it here.
        self.hostname = hostname or name
        self.extra_args = list(extra_args)
        self.memory = memory  # e.g. "1g"; None = no limit beyond the machine's
        self.labels = dict(labels or {})

    def __repr__(self) -> str:
        return f"LabHost({self.name!r}, network={self.network!r})"

    def state(self) -> str | None:
        """Podman's status (`running`, `exited`, `created`, ...), or None if there is none."""
        result = podman(
            "container", "inspect", "--format", "{{.State.Status}}", self.name, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else None

    def start(self, *, keep_stopped: bool = False) -> LabHost:
        """Boot the host; a running one is reused, a stopped one is recreated (or, with
        `keep_stopped`, booted again with its disk as it was, like a stopped instance)."""
        state = self.state()
        if state == "running":
            logger.info("host %s is running, reusing it", self.name)
            return self
        if state is not None and keep_stopped:
            podman("start", self.name)
            logger.info("started host %s again", self.name)
            return self
        if state is not None:
            # A stopped container's systemd state and address are stale: start afresh.
            logger.info("host %s is %s, recreating it", self.name, state)
            self.remove()
        args = [
            "run",
            "--detach",
            # Podman then mounts tmpfs on /run, /tmp, a writable cgroup tree and sets
            # container=podman: all systemd needs. No --cap-add and no --privileged: the
            # default capabilities boot systemd to `running` with no failed unit here, and
            # the services the roles install (Kafka, lakefeed's daemons) need none more.
            # A role that does need one passes it in extra_args.
            "--systemd=always",
            # No registry is reachable: a missing image must fail at once, not after retries.
            "--pull=never",
            "--name",
            self.name,
            "--hostname",
            self.hostname,
            "--network",
            self.network,
        ]
        for key, value in self.labels.items():
            args += ["--label", f"{key}={value}"]
        if self.memory:
            args += ["--memory", self.memory]
        args += [*self.extra_args, self.image, "/sbin/init"]
        result = podman(*args, check=False)
        if result.returncode != 0:
            hint = FIX
            if "network not found" in result.stderr:
                hint = f"create the network {self.network} first (LabNetwork.create)"
            elif "image not known" in result.stderr:
                hint = f"the image {self.image} is missing: {FIX}"
            raise LabError(f"cannot start host {self.name}: {_tail(result.stderr)}\n{hint}")
        logger.info("started host %s", self.name)
        return self

    def wait_running(self, timeout: float = 60.0) -> str:
        """Wait until systemd has booted; returns `running` or `degraded`.

        Degraded (a unit failed) still counts as up, since one optional unit failing in a
        container is common; the failed units are logged so a role that needs one can tell.
        """
        deadline = time.monotonic() + timeout
        status = ""
        while True:
            result = podman("exec", self.name, "systemctl", "is-system-running", check=False)
            status = result.stdout.strip()
            if status == "running":
                return status
            if status == "degraded":
                failed = self.exec("systemctl", "--failed", "--no-legend", "--plain", check=False)
                logger.warning(
                    "host %s is degraded; failed units:\n%s", self.name, failed.stdout.strip()
                )
                return status
            if status in ("maintenance", "stopping", "offline"):
                break
            if result.returncode != 0 and not status and self.state() != "running":
                raise LabError(
                    f"host {self.name} stopped while booting ({self.state() or 'gone'}); "
                    f"its console:\n{_tail(self.logs())}"
                )
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        jobs = self.exec("systemctl", "list-jobs", "--no-legend", check=False).stdout
        raise LabError(
            f"host {self.name} did not finish booting in {timeout:.0f}s (systemd: "
            f"{status or 'no answer'}); pending jobs:\n{_tail(jobs)}\n"
            f"see `podman logs {self.name}` and `podman exec {self.name} journalctl -b`"
        )

    def exec(
        self,
        *argv: str,
        check: bool = True,
        input: str | None = None,
        timeout: float | None = None,
        user: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the host (no shell: pass ["sh", "-c", ...] for one)."""
        args = ["podman", "exec"]
        if input is not None:
            args.append("--interactive")
        if user:
            args += ["--user", user]
        args += [self.name, *argv]
        try:
            result = subprocess.run(
                args,
                input=input,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as e:
            raise LabError(f"podman is not installed: {FIX}") from e
        except subprocess.TimeoutExpired as e:
            raise LabError(f"{argv!r} in host {self.name} did not finish in {timeout}s") from e
        if check and result.returncode != 0:
            output = _tail(result.stderr) or _tail(result.stdout) or "(no output)"
            raise LabError(
                f"{' '.join(argv)!r} failed in host {self.name} with exit "
                f"{result.returncode}:\n{output}"
            )
        return result

    def ip(self) -> str:
        """The host's address on its lab network (it changes when the host is recreated)."""
        result = podman(
            "container",
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            self.name,
            check=False,
        )
        if result.returncode != 0:
            raise LabError(f"host {self.name} does not exist: start it first")
        networks: dict[str, Any] = json.loads(result.stdout or "{}") or {}
        address = (networks.get(self.network) or {}).get("IPAddress")
        if not address:
            raise LabError(
                f"host {self.name} has no address on network {self.network} "
                f"(on: {', '.join(networks) or 'none'}; state: {self.state()})"
            )
        return str(address)

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def stop(self, timeout: int = 10) -> None:
        """Shut systemd down cleanly (SIGRTMIN+3), killing it after `timeout` seconds."""
        if self.state() == "running":
            podman("stop", "--time", str(timeout), self.name)
            logger.info("stopped host %s", self.name)

    def remove(self, timeout: int = 10) -> None:
        if self.state() is None:
            return
        podman("rm", "--force", "--time", str(timeout), self.name)
        logger.info("removed host %s", self.name)


class LoopDisk:
    """A small ext4 filesystem in an image file, loop-mounted on this machine and bound
    into a host: a disk of its own that can fill up, as the data volume of an EC2 host
    can. The image lives in the lab's state directory; its data outlives the container
    (a host recreated by `up` finds its spool again), `remove()` deletes it."""

    def __init__(self, image: Path, size_mib: int = 256) -> None:
        self.image = image
        self.size_mib = size_mib
        self.mountpoint = image.with_suffix("")

    @property
    def data(self) -> Path:
        """What a host sees: a directory on the filesystem (its root holds lost+found)."""
        return self.mountpoint / "data"

    def mounted(self) -> bool:
        return (
            subprocess.run(
                ["findmnt", "--mountpoint", str(self.mountpoint)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )

    def _run(self, *argv: str) -> None:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LabError(
                f"`{' '.join(argv)}` failed ({result.returncode}): {_tail(result.stderr)}; "
                "the lab's spool disk needs root and loop devices (`losetup -f`)"
            )

    def ensure(self) -> Path:
        """Create (once) and mount (if not mounted) the filesystem; returns `data`."""
        self.image.parent.mkdir(parents=True, exist_ok=True)
        if not self.image.exists():
            tmp = self.image.with_suffix(".tmp")
            with tmp.open("wb") as f:
                f.truncate(self.size_mib * 1024 * 1024)
            self._run("mkfs.ext4", "-q", "-F", "-m", "0", "-L", "lakefeed-spool", str(tmp))
            tmp.rename(self.image)
        self.mountpoint.mkdir(exist_ok=True)
        if not self.mounted():
            self._run("mount", "-o", "loop", str(self.image), str(self.mountpoint))
        self.data.mkdir(exist_ok=True)
        return self.data

    def remove(self) -> None:
        if self.mountpoint.exists() and self.mounted():
            self._run("umount", str(self.mountpoint))
        if self.mountpoint.exists():
            self.mountpoint.rmdir()
        self.image.unlink(missing_ok=True)


class Lab:
    """A network and the hosts of each inventory group, named `<prefix>-<group><n>`.

    >>> with Lab("lf-lab", {"kafka": 3}) as lab:  # doctest: +SKIP
    ...     lab.inventory()
    """

    def __init__(
        self,
        prefix: str = "lf-lab",
        groups: Mapping[str, int] | None = None,
        image: str = IMAGE,
        subnet: str | None = None,
        *,
        memory: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.prefix = prefix
        labels = {LABEL: prefix}
        self.network = LabNetwork(f"{prefix}-net", subnet, labels)
        self.groups: dict[str, list[LabHost]] = {
            group: [
                LabHost(
                    f"{prefix}-{group}{i}",
                    self.network,
                    image=image,
                    extra_args=extra_args,
                    memory=memory,
                    labels=labels,
                )
                for i in range(1, count + 1)
            ]
            for group, count in (groups if groups is not None else {"kafka": 3}).items()
        }

    @property
    def hosts(self) -> list[LabHost]:
        return [host for hosts in self.groups.values() for host in hosts]

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if name in (host.name, host.hostname):
                return host
        raise KeyError(name)

    def up(self, timeout: float = 120.0) -> Lab:
        """Create the network, start every host, wait until all have booted."""
        started = time.monotonic()
        self.network.create()
        for host in self.hosts:
            host.start()
        # They boot in parallel: wait for each in turn with what is left of the timeout.
        for host in self.hosts:
            host.wait_running(max(1.0, timeout - (time.monotonic() - started)))
        logger.info(
            "lab %s up: %d hosts in %.1fs", self.prefix, len(self.hosts), time.monotonic() - started
        )
        return self

    def down(self) -> None:
        """Remove every container and the network of this prefix, including leftovers."""
        names = podman(
            "ps",
            "-a",
            "--filter",
            f"label={LABEL}={self.prefix}",
            "--format",
            "{{.Names}}",
            check=False,
        ).stdout.split()
        for name in dict.fromkeys([*(h.name for h in self.hosts), *names]):
            LabHost(name, self.network).remove()
        self.network.remove()
        logger.info("lab %s down", self.prefix)

    def __enter__(self) -> Lab:
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    def inventory(self) -> dict[str, Any]:
        """An Ansible inventory (as YAML would load) reaching the hosts through nsenter.

        The connection is the project's plugins/connection/podman_nsenter.py (ansible.cfg
        names the folder): the container's PID from podman, then nsenter, per task.
        """
        return {
            "all": {
                "vars": {
                    "ansible_connection": "podman_nsenter",
                    "ansible_python_interpreter": "/usr/bin/python3",
                },
                "children": {
                    group: {"hosts": {host.hostname: {"ansible_host": host.name} for host in hosts}}
                    for group, hosts in self.groups.items()
                },
            }
        }
