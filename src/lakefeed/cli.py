"""The `lakefeed` command: the three daemons, config checks, and (later) the runner."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from lakefeed import __version__, config, configdoc, logs
from lakefeed.errors import ConfigError, LakefeedError
from lakefeed.service import install_stop_handlers

logger = logging.getLogger("lakefeed")


def _daemon(kind: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        cfg = config.load(args.config, kind=kind)
        logs.setup(cfg.log_level)  # type: ignore[attr-defined]
        config.check_secrets(cfg)
        stop = threading.Event()
        install_stop_handlers(stop)
        # Each daemon imports only its own client libraries (boto3 alone takes ~0.5 s).
        module = importlib.import_module(f"lakefeed.{kind}.daemon")
        return module.run(cfg, stop)

    return command


def _check_config(args: argparse.Namespace) -> int:
    for path in args.files:
        cfg = config.load(path)
        if args.secrets:
            config.check_secrets(cfg)
        print(f"{path}: ok ({cfg.kind})")  # type: ignore[attr-defined]
    return 0


def _lab(args: argparse.Namespace) -> int:
    from lakefeed.runner.lab import LabRunner  # noqa: PLC0415 - Ansible loads on demand

    logs.setup("WARNING")
    runner = LabRunner()
    return runner.up() if args.command == "up" else runner.down()


def _build_wheelhouse(args: argparse.Namespace) -> int:
    from lakefeed.runner import wheelhouse  # noqa: PLC0415
    from lakefeed.runner.ansible import project_root  # noqa: PLC0415

    wheel = wheelhouse.build(project_root(), args.dir)
    print(f"{args.dir}: {wheel.name} and {len(list(args.dir.glob('*.whl'))) - 1} dependencies")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from lakefeed.lab.demo import Demo  # noqa: PLC0415 - boto3 and friends load on demand
    from lakefeed.runner.ansible import project_root  # noqa: PLC0415

    logs.setup("WARNING")
    root = project_root()
    sample = args.sample or root / "data" / "sample" / "x_stream.jsonl"
    return Demo(root, sample, args.rate, sys.stdout).run()


def _config_reference(args: argparse.Namespace) -> int:
    sys.stdout.write(configdoc.render(args.examples))
    return 0


def build_parser() -> argparse.ArgumentParser:
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

    for name, text in (
        ("up", "provision, configure and smoke-check an environment"),
        ("down", "remove an environment"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument(
            "--env",
            choices=["lab"],
            default="lab",
            help="lab: systemd containers on this machine (default)",
        )
        p.set_defaults(func=_lab)

    p = sub.add_parser(
        "build-wheelhouse",
        help="build lakefeed's wheel and its dependencies for the `lakefeed` role",
        description="Build lakefeed's wheel from this checkout, plus every dependency "
        "wheel, into DIR: hosts install from it without reaching PyPI.",
    )
    p.add_argument("dir", type=Path)
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
