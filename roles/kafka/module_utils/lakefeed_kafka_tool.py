"""Apache Kafka's command-line tools as the kafka role's modules run them: the JVM of the
Kafka install on the host, its libs/* classpath, a quiet log4j2 config, and the cluster's
bootstrap servers and client properties (a secured cluster's TLS and admin login).

Class data sharing: the first call that succeeds writes the classes it loaded to
`<kafka home>/tools.jsa` (the classpath is `<kafka home>/libs/*`, so the archive lives
and goes with that Kafka version's directory); later calls map it instead of loading and
verifying those classes again, which halves a call's CPU (measured: 1.0 s instead of 2.0 s
for `kafka-topics --list`). kafka-health does the same with the same file. An archive the
JVM cannot use (another Java build) is ignored: the call runs as without it, JVM logging
is off so nothing but the tool's own output reaches stdout, and the role removes the
archive when it changes the Java package.

Ansible ships this file with each module that imports it (a role's module_utils)."""

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


def class_data(classpath, check_mode=False):
    """(JVM flags, (file being written, archive) or None) for the tools' class-data archive
    beside the classpath's libs/: map it when it exists, else have this call write it (to a
    name of its own, put in place by `keep_class_data`) when the directory is writable and
    this is not a check run, which writes nothing."""
    archive = os.path.join(os.path.dirname(os.path.dirname(classpath)), "tools.jsa")
    if os.path.exists(archive):
        return [f"-XX:SharedArchiveFile={archive}"], None
    if check_mode or not os.access(os.path.dirname(archive), os.W_OK):
        return [], None
    writing = f"{archive}.{os.getpid()}.tmp"
    return [f"-XX:ArchiveClassesAtExit={writing}"], (writing, archive)


def keep_class_data(dump, rc):
    """Put the archive a call wrote in place if the call succeeded (a failed one may have
    loaded too few classes to be worth sharing), else drop it."""
    if dump is None or not os.path.exists(dump[0]):
        return
    if rc == 0:
        os.replace(*dump)
    else:
        os.unlink(dump[0])


def run_tool(module, main, *args, timeout=None, argfile=None):
    """(rc, stdout, stderr) of `main` run against the module's `bootstrap_servers`, with
    its `command_config` when set. `timeout` (seconds) kills a tool that hangs, as one
    talking to a frozen broker does (rc 124). With `argfile` (a path that must not exist),
    the main class and its arguments go in that file, mode 0600, removed after the run:
    for arguments that must not show in the process list, such as passwords."""
    p = module.params
    argv = ["timeout", "--kill-after=5", str(timeout)] if timeout else []
    shared, dump = class_data(p["classpath"], module.check_mode)
    argv += ["java", *JVM_FLAGS, *shared, f"-Dlog4j2.configurationFile={p['log4j_config']}"]
    argv += ["-cp", p["classpath"]]
    tail = [main, "--bootstrap-server", p["bootstrap_servers"]]
    if p.get("command_config"):
        tail += ["--command-config", p["command_config"]]
    tail += list(args)
    if argfile is None:
        done = module.run_command(argv + tail)
    else:
        # The java launcher reads the main class and its arguments from the file.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        with os.fdopen(os.open(argfile, flags, 0o600), "w") as f:
            f.write("\n".join(f'"{a}"' for a in tail) + "\n")
        try:
            done = module.run_command([*argv, f"@{argfile}"])
        finally:
            os.unlink(argfile)
    keep_class_data(dump, done[0])
    return done
