"""The lab's Debian systemd hosts under rootful Podman: boot, name resolution, teardown.

Needs root (rootful Podman). The first run on a machine installs Podman and debootstraps
the image (one or two minutes); later runs reuse it. Ansible only for the inventory.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lakefeed.lab.hosts import LABEL, Lab, LabError, LabHost, LabNetwork, ensure_prereqs, podman
from lakefeed.runner.ansible import ansible_env

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab's hosts need rootful Podman (root)"),
]

PORT = 8080
# Run in host A: fetch a page from host B by its name, retrying while B's server starts.
FETCH = """
import sys, time, urllib.request
url = sys.argv[1]
deadline = time.monotonic() + 20
while True:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            print(r.status)
            break
    except OSError as e:
        if time.monotonic() > deadline:
            sys.exit(f"{url}: {e}")
        time.sleep(0.2)
"""


def leftovers(prefix: str) -> tuple[list[str], bool]:
    names = podman(
        "ps", "-a", "--filter", f"label={LABEL}={prefix}", "--format", "{{.Names}}"
    ).stdout.split()
    return names, LabNetwork(f"{prefix}-net").exists()


@pytest.fixture(scope="module")
def image() -> str:
    return ensure_prereqs()


@pytest.fixture(scope="module")
def lab(image: str) -> Iterator[Lab]:
    lab = Lab(f"lf-t{uuid.uuid4().hex[:8]}", {"node": 2}, image=image)
    try:
        yield lab.up(timeout=120)
    finally:
        lab.down()


def test_hosts_boot_systemd_as_pid_1(lab: Lab) -> None:
    for host in lab.hosts:
        assert host.state() == "running"
        assert host.exec("cat", "/proc/1/comm").stdout.strip() == "systemd"
        assert host.wait_running(10) == "running", "a fresh host boots with a failed unit"
        assert host.exec("hostname").stdout.strip() == host.hostname


def test_host_reaches_another_by_name_over_the_lab_network(lab: Lab) -> None:
    a, b = lab.hosts
    # A transient unit: systemd in B keeps the server running after `podman exec` returns.
    # 0.0.0.0 inside B: its only interfaces are loopback and the private lab network.
    server = ["python3", "-m", "http.server", str(PORT), "--directory", "/tmp"]
    b.exec("systemd-run", "--unit", "lf-test-http", "--", *server, "--bind", "0.0.0.0")  # noqa: S104
    try:
        resolved = a.exec("getent", "hosts", b.name).stdout.split()
        assert resolved[0] == b.ip()
        assert b.ip() != a.ip()
        out = a.exec("python3", "-c", FETCH, f"http://{b.name}:{PORT}/", timeout=60)
        assert out.stdout.strip() == "200"
    finally:
        b.exec("systemctl", "stop", "lf-test-http", check=False)


def test_degraded_host_counts_as_up_and_logs_its_failed_units(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    host = lab.hosts[0]
    host.exec("systemd-run", "--wait", "--unit", "lf-test-fail", "false", check=False)
    try:
        with caplog.at_level(logging.WARNING, logger="lakefeed.lab.hosts"):
            assert host.wait_running(10) == "degraded"
        assert "lf-test-fail.service" in caplog.text
    finally:
        host.exec("systemctl", "reset-failed")
    assert host.wait_running(10) == "running"


def test_start_reuses_a_running_host(lab: Lab) -> None:
    host = lab.hosts[0]
    before = podman("container", "inspect", "--format", "{{.Id}}", host.name).stdout
    lab.up(timeout=60)
    assert podman("container", "inspect", "--format", "{{.Id}}", host.name).stdout == before


def test_exec_failure_says_what_failed(lab: Lab) -> None:
    with pytest.raises(LabError, match=r"'ls /nonexistent' failed in host .* with exit 2"):
        lab.hosts[0].exec("ls", "/nonexistent")
    assert lab.hosts[0].exec("false", check=False).returncode == 1


def test_inventory_reaches_each_host_through_nsenter(lab: Lab, tmp_path: Path) -> None:
    inv = lab.inventory()["all"]
    assert inv["vars"] == {
        "ansible_connection": "podman_nsenter",
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    assert inv["children"]["node"]["hosts"] == {
        h.hostname: {"ansible_host": h.name} for h in lab.hosts
    }
    # Through the project's ansible.cfg (which names the plugin's folder), a module runs in
    # each container: its own hostname, its own PID 1, its cgroups (a JVM needs them), an
    # environment free of ours.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(lab.inventory(), sort_keys=False))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible"),
            "-i",
            str(inventory),
            "node",
            "-m",
            "ansible.builtin.shell",
            "-a",
            "cmp -s /proc/self/cgroup /proc/1/cgroup && c=same-cgroups;"
            "echo $(hostname) $(cat /proc/1/comm) $c ${VIRTUAL_ENV:-no-venv}",
        ],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for host in lab.hosts:
        said = f"{host.hostname} systemd same-cgroups no-venv"
        assert f"{host.hostname} | CHANGED | rc=0 >>\n{said}" in result.stdout


def test_a_container_started_again_is_entered_at_its_new_pid(lab: Lab, tmp_path: Path) -> None:
    """The connection asks podman for a container's PID once, then remembers it while that
    process runs: a task on a host it has entered costs no `podman container inspect`; a
    host stopped and started again is entered at its new PID, not the old one."""
    calls = tmp_path / "podman-calls"
    wrapper = tmp_path / "podman"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec podman "$@"\n')
    wrapper.chmod(0o755)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(lab.inventory(), sort_keys=False))
    for host in lab.hosts:  # an earlier test's runs remembered them
        Path("/run/lakefeed-podman-nsenter", host.name).unlink(missing_ok=True)

    def run() -> tuple[str, list[str]]:
        done = subprocess.run(
            [
                *(str(Path(sys.executable).parent / "ansible"), "-i", str(inventory), "node"),
                *("-m", "ansible.builtin.command", "-a", "cat /proc/sys/kernel/hostname"),
            ],
            env={**ansible_env(), "ANSIBLE_PODMAN_EXECUTABLE": str(wrapper)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        asked = calls.read_text().splitlines() if calls.exists() else []
        return done.stdout, [line.split()[-1] for line in asked]

    out, asked = run()
    assert sorted(asked) == sorted(h.name for h in lab.hosts), asked
    _, asked = run()
    assert len(asked) == len(lab.hosts), f"podman asked again: {asked}"
    first = lab.hosts[0]
    first.stop()
    first.start().wait_running()
    out, asked = run()
    assert asked[len(lab.hosts) :] == [first.name], asked
    for host in lab.hosts:
        assert f"{host.hostname} | CHANGED | rc=0 >>\n{host.hostname}" in out, out


def test_down_removes_containers_and_network_and_is_idempotent(image: str) -> None:
    lab = Lab(f"lf-t{uuid.uuid4().hex[:8]}", {"solo": 1}, image=image)
    try:
        lab.up(timeout=120)
        # A host the Lab object does not know of (an earlier run's) goes too: by label.
        stray = LabHost(f"{lab.prefix}-stray", lab.network, image, labels={LABEL: lab.prefix})
        stray.start()
        assert leftovers(lab.prefix) != ([], False)
        lab.down()
        assert leftovers(lab.prefix) == ([], False)
        lab.down()
    finally:
        lab.down()
