"""Apache Kafka's command-line tools as the kafka role's modules run them: the JVM of the
Kafka install on the host, its libs/* classpath, a quiet log4j2 config, and the cluster's
bootstrap servers and client properties (a secured cluster's TLS and admin login).

Class data sharing: the role writes `<kafka home>/tools.jsa` once a node is up
(tasks/class_data.yml; the classpath is `<kafka home>/libs/*`, so the archive lives and
goes with that Kafka version's directory). Calls map it instead of loading and verifying
those classes again, which halves a call's CPU (measured: 1.0 s instead of 2.0 s for
`kafka-topics --list`); kafka-health does the same. An archive the JVM cannot use
(another Java build) is ignored: the call runs as without it, and JVM logging is off so
nothing but the tool's own output reaches stdout.
"""

from __future__ import annotations

import os

# A short-lived tool: a small heap, C1 only and the serial GC cost less CPU (as kafka-health);
# the JVM's own log (the class-data archive's warnings) off, errors aside, on stderr.
JVM_FLAGS = (
    "-Xmx256m",
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xlog:disable",
    "-Xlog:all=error:stderr",
)


# The arguments every module that runs a tool takes (run_tool reads them), merged into
# its argument_spec: where the tools and the cluster are, and how to log in to it.
TOOL_ARGS = {
    "bootstrap_servers": {"type": "str", "required": True},
    "classpath": {"type": "str", "required": True},
    "log4j_config": {"type": "str", "required": True},
    "command_config": {"type": "path"},
}


def class_data(classpath):
    """The JVM flag that maps the tools' class-data archive beside the classpath's libs/,
    if the role wrote one (none otherwise)."""
    archive = os.path.join(os.path.dirname(os.path.dirname(classpath)), "tools.jsa")
    return [f"-XX:SharedArchiveFile={archive}"] if os.path.exists(archive) else []


def run_tool(module, main, *args, timeout=None, argfile=None):
    """(rc, stdout, stderr) of `main` run against the module's `bootstrap_servers`, with
    its `command_config` when set. `timeout` (seconds) kills a tool that hangs, as one
    talking to a frozen broker does (rc 124). With `argfile` (a path that must not exist),
    the main class and its arguments go in that file, mode 0600, removed after the run:
    for arguments that must not show in the process list, such as passwords."""
    p = module.params
    argv = ["timeout", "--kill-after=5", str(timeout)] if timeout else []
    shared = class_data(p["classpath"])
    argv += ["java", *JVM_FLAGS, *shared, f"-Dlog4j2.configurationFile={p['log4j_config']}"]
    argv += ["-cp", p["classpath"]]
    tail = [main, "--bootstrap-server", p["bootstrap_servers"]]
    if p.get("command_config"):
        tail += ["--command-config", p["command_config"]]
    tail += list(args)
    if argfile is None:
        return module.run_command(argv + tail)
    # The java launcher reads the main class and its arguments from the file.
    with os.fdopen(os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("\n".join(f'"{a}"' for a in tail) + "\n")
    try:
        return module.run_command([*argv, f"@{argfile}"])
    finally:
        os.unlink(argfile)
