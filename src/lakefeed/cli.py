"""The `lakefeed` command: the three daemons, config checks and the runner."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lakefeed import __version__, config, configdoc, logs, service
from lakefeed.errors import ConfigError, LakefeedError

if TYPE_CHECKING:
    from lakefeed.runner.targets import Target

logger = logging.getLogger("lakefeed")


def _daemon(kind: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        service.RUNNING.read_config(args.config)
        cfg = config.load(args.config, kind=kind)
        logs.setup(cfg.log_level)
        config.check_secrets(cfg)
        stop = threading.Event()
        service.install_stop_handlers(stop)
        # Each daemon imports only its own client libraries (boto3 alone takes ~0.5 s).
        module = importlib.import_module(f"lakefeed.{kind}.daemon")
        return module.run(cfg, stop)

    return command


def _check_config(args: argparse.Namespace) -> int:
    for path in args.files:
        cfg = config.load(path)
        if args.secrets:
            config.check_secrets(cfg)
        print(f"{path}: ok ({cfg.kind})")
    return 0


def _wait_healthy(args: argparse.Namespace) -> int:
    from lakefeed import healthgate  # noqa: PLC0415

    expect = {"build": args.build, "config": args.config}
    return healthgate.wait(
        args.unit,
        args.port,
        args.timeout,
        expect={k: v for k, v in expect.items() if v},
    )


def _env_command(args: argparse.Namespace) -> int:
    logs.setup("WARNING")
    if args.env == "lab":
        from lakefeed.runner.lab import LabRunner  # noqa: PLC0415 - Ansible loads on demand

        if args.command == "plan":
            raise ConfigError("plan --env lab: the lab has nothing to plan; run `lakefeed up`")
        runner = LabRunner(state=args.state_dir)
        return runner.up() if args.command == "up" else runner.down()

    from lakefeed.runner.aws import AwsRunner  # noqa: PLC0415

    aws: AwsRunner
    if args.env == "aws-rehearsal":
        from lakefeed.runner.rehearsal import RehearsalRunner  # noqa: PLC0415

        if args.endpoint_url:
            raise ConfigError(
                "--endpoint-url: the rehearsal brings its own AWS API; use --env aws for yours"
            )
        aws = RehearsalRunner(_target(args), var_files=args.var_file, replace=args.replace)
    else:
        aws = AwsRunner(
            _target(args),
            endpoint_url=args.endpoint_url,
            var_files=args.var_file,
            replace=args.replace,
        )
    if args.command == "up":
        return aws.up(until=args.until)
    if args.command == "plan":
        return aws.plan()
    return aws.down(yes=args.yes)


def _target(args: argparse.Namespace) -> Target:
    from lakefeed.runner.ansible import project_root  # noqa: PLC0415
    from lakefeed.runner.targets import target  # noqa: PLC0415

    return target(args.env, project_root(), args.state_dir)


def _rollout(args: argparse.Namespace) -> int:
    from lakefeed.runner.rollout import Rollout, parse_extravars  # noqa: PLC0415

    logs.setup("WARNING")
    return Rollout(
        _target(args),
        restart_all=args.restart_all,
        extravars=parse_extravars(args.extra_vars),
        log_path=args.log,
    ).run()


def _status(args: argparse.Namespace) -> int:
    from lakefeed.runner.status import status  # noqa: PLC0415

    logs.setup("WARNING")
    return status(_target(args), sys.stdout, as_json=args.json)


def _query(args: argparse.Namespace) -> int:
    from lakefeed.query import render  # noqa: PLC0415
    from lakefeed.runner.lab import LabRunner  # noqa: PLC0415

    logs.setup("WARNING")
    catalog = LabRunner(state=args.state_dir).catalog()
    columns, rows = catalog.sql(args.sql)
    if args.json:
        for row in rows:
            sys.stdout.write(json.dumps(dict(zip(columns, row, strict=True)), default=str) + "\n")
    else:
        sys.stdout.write(render(columns, rows))
    return 0


def _compact(args: argparse.Namespace) -> int:
    from lakefeed.runner.lab import LabRunner  # noqa: PLC0415

    logs.setup("WARNING")
    return LabRunner(state=args.state_dir).compact(
        open_hours=args.open_hours, settle_minutes=args.settle_minutes
    )


def _build_wheelhouse(args: argparse.Namespace) -> int:
    from lakefeed.runner import wheelhouse  # noqa: PLC0415
    from lakefeed.runner.ansible import project_root  # noqa: PLC0415

    target = wheelhouse.Platform(python=args.python, machine=args.machine)
    wheel = wheelhouse.build(project_root(), args.dir, target)
    print(f"{args.dir}: {wheel.name} and {len(list(args.dir.glob('*.whl'))) - 1} dependencies")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from lakefeed.local.demo import Demo  # noqa: PLC0415 - boto3 and friends load on demand
    from lakefeed.runner.ansible import project_root  # noqa: PLC0415

    logs.setup("WARNING")
    root = project_root()
    sample = args.sample or root / "data" / "sample" / "x_stream.jsonl"
    return Demo(root, sample, args.rate, sys.stdout).run()


def _config_reference(args: argparse.Namespace) -> int:
    sys.stdout.write(configdoc.render(args.examples))
    return 0


def _roles_reference(_args: argparse.Namespace) -> int:
    from lakefeed import rolesdoc  # noqa: PLC0415
    from lakefeed.runner.ansible import project_root  # noqa: PLC0415

    sys.stdout.write(rolesdoc.render(project_root()))
    return 0


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one flat list of commands
    from lakefeed.runner.wheelhouse import DEBIAN_12_AMD64 as wheelhouse_default  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="lakefeed",
        description="Stream APIs through Kafka into an S3 data lake.",
    )
    parser.add_argument("--version", action="version", version=f"lakefeed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, kind, text in (
        ("collect", "collector", "run a collector: one source -> Kafka"),
        ("archive", "archiver", "run the archiver: Kafka -> spool files"),
        ("ship", "shipper", "run the shipper: spool files -> S3"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--config", "-c", required=True, type=Path, help="YAML config file")
        p.set_defaults(func=_daemon(kind))

    text = "on a daemon's host: wait until its unit runs and /healthz is green, or say why not"
    p = sub.add_parser("wait-healthy", help=text, description=text + " (exit 1).")
    p.add_argument("unit", help="the systemd unit, e.g. lakefeed-shipper")
    p.add_argument("--port", type=int, required=True, help="the daemon's /healthz port")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
    p.add_argument("--build", help="healthy only if the process runs this build")
    p.add_argument("--config", help="... and read a config file of this digest")
    p.set_defaults(func=_wait_healthy)

    p = sub.add_parser(
        "check-config",
        help="validate config files (Ansible's `validate:` runs this)",
        description="Validate config files; prints one line per file, exit 2 on the first bad one.",
    )
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument(
        "--secrets",
        action="store_true",
        help="also read every secret the config names (on the host that runs it)",
    )
    p.set_defaults(func=_check_config)

    def env_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--env",
            choices=["lab", "aws", "aws-rehearsal"],
            default="lab",
            help="default: lab; aws-rehearsal: the AWS path on local hosts (docs/aws.md)",
        )
        p.add_argument(
            "--state-dir",
            type=Path,
            default=None,
            help="runner state (lock, logs, wheelhouse); default .lab/, .aws-state/ or .rehearsal/",
        )

    for name, text in (
        ("up", "provision, configure and smoke-check an environment"),
        ("plan", "show what `up --env aws` would change in AWS, changing nothing"),
        ("down", "remove an environment (aws: asks first, or --yes)"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        env_args(p)
        p.add_argument(
            "--endpoint-url",
            default=None,
            help="aws: one AWS-compatible endpoint for EC2, IAM, S3 and STS (tests)",
        )
        p.add_argument(
            "--var-file",
            action="append",
            type=Path,
            default=[],
            help="aws: a .tfvars file (default terraform/envs/dev/terraform.tfvars)",
        )
        if name == "up":
            p.add_argument(
                "--until",
                choices=["inventory", "configure", "smoke"],
                default="smoke",
                help="aws: stop after this stage (default: all of them)",
            )
            p.add_argument(
                "--replace",
                action="append",
                default=[],
                metavar="HOST",
                help="aws: terminate HOST (e.g. kafka-3) and create it anew; its data volume "
                "is kept and reattached",
            )
        if name == "down":
            p.add_argument("--yes", action="store_true", help="aws: destroy without asking")
        if name != "up":
            p.set_defaults(replace=[])
        p.set_defaults(func=_env_command)

    text = "roll out what changed, host by host behind the health gates (what cron runs)"
    p = sub.add_parser(
        "rollout",
        help=text,
        description=text + ". Does nothing when every host already runs this checkout. "
        "Exit 0: done or nothing to do; 1: stopped at an unhealthy host or failed; "
        "2: bad input; 75: another rollout of this environment is running.",
    )
    env_args(p)
    p.add_argument(
        "--restart-all",
        action="store_true",
        help="restart every Kafka node and daemon (one host at a time) even if unchanged",
    )
    p.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an Ansible variable for this run only (YAML value); repeatable",
    )
    p.add_argument(
        "--log",
        type=Path,
        default=None,
        help="append one JSON line per run here (default: STATE_DIR/rollout.jsonl)",
    )
    p.set_defaults(func=_rollout)

    text = "per host and service: state, health, version, lag, backlog, last object shipped"
    p = sub.add_parser(
        "status", help=text, description=text + ". Exit 1 when anything is down or unhealthy."
    )
    env_args(p)
    p.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    p.set_defaults(func=_status)

    text = "ask the lab's lake in SQL: the AWS catalog's tables and views, on this machine"
    p = sub.add_parser(
        "query",
        help=text,
        description=text + " (docs/query.md). The lake's new objects are copied into "
        "STATE_DIR/lake-mirror first; DuckDB then runs the SQL over them, with the catalog's "
        "views (each record once) and <topic>_lines tables.",
    )
    p.add_argument("sql", help='e.g. "SELECT hour, count(*) FROM x_posts GROUP BY 1"')
    p.add_argument("--json", action="store_true", help="one JSON object per row")
    p.add_argument(
        "--state-dir", type=Path, default=None, help="the lab's runner state (default .lab/)"
    )
    p.set_defaults(func=_query)

    text = "write each closed hour of the lab's lake as one deduplicated Parquet object"
    p = sub.add_parser(
        "compact",
        help=text,
        description=text + " under s3://lakefeed-lab/compacted/ (docs/query.md): the rows of "
        "the catalog's view, sorted by partition and offset; the raw objects are not touched. "
        "Safe to re-run or kill at any point: an hour's object is replaced only when its rows "
        "changed. Prints one JSON line (also appended to STATE_DIR/compact.jsonl); exits 75 "
        "when another compaction runs, 1 on an error.",
    )
    p.add_argument(
        "--settle-minutes",
        type=int,
        default=30,
        help="an hour is closed this long after it ends (default 30)",
    )
    p.add_argument(
        "--open-hours",
        action="store_true",
        help="compact the hours not closed yet too (a later run writes them again as they grow)",
    )
    p.add_argument(
        "--state-dir", type=Path, default=None, help="the lab's runner state (default .lab/)"
    )
    p.set_defaults(func=_compact)

    p = sub.add_parser(
        "build-wheelhouse",
        help="build lakefeed's wheel and its dependencies for the `lakefeed` role",
        description="Build lakefeed's wheel from this checkout, plus every dependency "
        "wheel, into DIR: hosts install from it without reaching PyPI.",
    )
    p.add_argument("dir", type=Path)
    p.add_argument(
        "--python",
        default=wheelhouse_default.python,
        help=f"the hosts' Python, X.Y (default {wheelhouse_default.python}, Debian 12's)",
    )
    p.add_argument(
        "--machine",
        default=wheelhouse_default.machine,
        help=f"the hosts' `uname -m` (default {wheelhouse_default.machine})",
    )
    p.set_defaults(func=_build_wheelhouse)

    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on this machine on the sample (real Kafka and MinIO)",
        description="Start Kafka and MinIO on loopback, run the three daemons on the "
        "sample until every record is in the lake, print where it landed, stop everything.",
    )
    p.add_argument("--sample", type=Path, default=None, help="JSONL file to replay")
    p.add_argument("--rate", type=float, default=500.0, help="records/s (0 = unthrottled)")
    p.set_defaults(func=_demo)

    p = sub.add_parser("config-reference", help="print the config reference (docs/config.md)")
    p.add_argument(
        "--examples",
        type=Path,
        default=Path("docs/examples"),
        help="folder of the example configs to include",
    )
    p.set_defaults(func=_config_reference)

    p = sub.add_parser(
        "roles-reference", help="print the Ansible role variables reference (docs/roles.md)"
    )
    p.set_defaults(func=_roles_reference)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"lakefeed: config error: {exc}", file=sys.stderr)
        return exc.exit_code
    except LakefeedError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the message is the report; no traceback
        print(f"lakefeed: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
