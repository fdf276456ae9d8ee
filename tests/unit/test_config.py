"""Config validation: one line naming the key and the fix, exit 2, nothing touched."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from lakefeed import cli, config
from lakefeed.errors import ConfigError

GOOD_COLLECTOR = {
    "kind": "collector",
    "name": "nba",
    "kafka": {"bootstrap_servers": ["k1:9092", "k2:9092"]},
    "topic": "tweets",
    "source": {"type": "replay", "path": "/data/sample.jsonl"},
}
GOOD_ARCHIVER = {
    "kind": "archiver",
    "kafka": {"bootstrap_servers": ["k1:9092"]},
    "topics": ["tweets"],
    "spool_dir": "/var/spool/lakefeed",
}
GOOD_SHIPPER = {
    "kind": "shipper",
    "spool_dir": "/var/spool/lakefeed",
    "s3": {"bucket": "my-lake", "prefix": "/raw/"},
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def error_for(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        config.parse(data, "c.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("good", [GOOD_COLLECTOR, GOOD_ARCHIVER, GOOD_SHIPPER])
def test_good_configs_parse_with_defaults(good: dict) -> None:
    cfg = config.parse(good)
    assert cfg.kind == good["kind"]


def test_defaults_are_the_documented_ones() -> None:
    cfg = config.parse(GOOD_SHIPPER)
    assert isinstance(cfg, config.ShipperConfig)
    assert cfg.s3.prefix == "raw"
    assert cfg.after_upload == "delete"
    assert cfg.metrics.port == 9103
    arch = config.parse(GOOD_ARCHIVER)
    assert isinstance(arch, config.ArchiverConfig)
    assert arch.rotate.max_records == 100_000


def test_unknown_key_is_named_with_its_path() -> None:
    bad = {**GOOD_ARCHIVER, "rotate": {"max_record": 5}}
    msg = error_for(bad)
    assert msg.startswith("c.yaml: rotate.max_record: unknown key")
    assert "docs/config.md" in msg


def test_missing_key_is_named() -> None:
    bad = {k: v for k, v in GOOD_COLLECTOR.items() if k != "topic"}
    assert error_for(bad).startswith("c.yaml: topic: required key is missing")


def test_wrong_type_says_what_it_got() -> None:
    bad = {**GOOD_COLLECTOR, "source": {**GOOD_COLLECTOR["source"], "rate": "fast"}}
    msg = error_for(bad)
    assert msg.startswith("c.yaml: source.rate:")
    assert "'fast'" in msg


def test_source_type_must_be_known() -> None:
    bad = {**GOOD_COLLECTOR, "source": {"type": "kinesis"}}
    msg = error_for(bad)
    assert "source" in msg and "replay" in msg


def test_kind_must_be_known() -> None:
    assert "kind: must be one of archiver, collector, shipper" in error_for({"kind": "x"})


def test_top_level_must_be_a_mapping() -> None:
    assert "top level must be a mapping" in error_for(["a"])


def test_bad_topic_name() -> None:
    msg = error_for({**GOOD_COLLECTOR, "topic": "a+b"})
    assert msg.startswith("c.yaml: topic:")


def test_several_problems_are_counted_not_listed() -> None:
    msg = error_for({"kind": "archiver"})
    assert "(+2 more problems)" in msg


@pytest.mark.parametrize(
    ("where", "data"),
    [
        (
            "source",
            {
                **GOOD_COLLECTOR,
                "source": {"type": "x_stream", "bearer_token": "AAAA", "rules": [{"value": "nba"}]},
            },
        ),
        (
            "kafka",
            {**GOOD_ARCHIVER, "kafka": {"bootstrap_servers": ["k:1"], "sasl_password": "hunter2"}},
        ),
        ("s3", {**GOOD_SHIPPER, "s3": {"bucket": "my-lake", "secret_access_key": "x"}}),
    ],
)
def test_secret_in_clear_is_refused_without_echoing_it(where: str, data: dict) -> None:
    msg = error_for(data)
    assert msg.startswith(f"c.yaml: {where}")
    assert "in clear" in msg
    for secret in ("AAAA", "hunter2"):
        assert secret not in msg


def test_auth_header_in_clear_is_refused() -> None:
    src = {"type": "http_poll", "url": "https://api.example.com/x", "headers": {"X-Api-Key": "k"}}
    msg = error_for({**GOOD_COLLECTOR, "source": src})
    assert "source.headers" in msg and "auth:" in msg


def test_sasl_needs_its_parts() -> None:
    kafka = {"bootstrap_servers": ["k:1"], "security_protocol": "SASL_SSL"}
    msg = error_for({**GOOD_ARCHIVER, "kafka": kafka})
    assert msg.startswith("c.yaml: kafka: ")
    assert "SASL_SSL needs sasl_username, sasl_password" in msg


def test_credentials_without_sasl_ssl_are_refused_not_sent_in_clear() -> None:
    kafka = {"bootstrap_servers": ["k:1"], "sasl_username": "u", "sasl_password": {"env": "P"}}
    msg = error_for({**GOOD_ARCHIVER, "kafka": kafka})
    assert "sasl_username, sasl_password given but security_protocol is PLAINTEXT" in msg
    assert "security_protocol: SASL_SSL" in msg


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("security_protocol", "SASL_PLAINTEXT"),
        ("security_protocol", "SSL"),
        ("sasl_mechanism", "PLAIN"),
    ],
)
def test_only_sasl_ssl_with_scram_is_offered(key: str, value: str) -> None:
    kafka = {
        "bootstrap_servers": ["k:1"],
        "security_protocol": "SASL_SSL",
        "sasl_username": "u",
        "sasl_password": {"env": "P"},
        key: value,
    }
    assert error_for({**GOOD_ARCHIVER, "kafka": kafka}).startswith(f"c.yaml: kafka.{key}: ")


def test_sasl_ssl_client_kwargs_read_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = secrets.token_urlsafe(12)
    monkeypatch.setenv("LF_KAFKA_PW", password)
    ca = tmp_path / "ca.pem"
    cfg = config.KafkaConfig(
        bootstrap_servers=["k1:9092"],
        security_protocol="SASL_SSL",
        sasl_username="lakefeed",
        sasl_password=config.SecretRef(env="LF_KAFKA_PW"),
        ssl_cafile=ca,
        request_timeout_ms=5000,
    )
    kwargs = cfg.client_kwargs()
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "lakefeed"
    assert kwargs["sasl_plain_password"] == password
    assert kwargs["ssl_cafile"] == str(ca)
    assert kwargs["ssl_check_hostname"] is True
    assert kwargs["bootstrap_timeout_ms"] == 5000
    plain = config.KafkaConfig(bootstrap_servers=["k1:9092"]).client_kwargs()
    assert not any(k.startswith(("sasl_", "ssl_")) for k in plain)


def test_unreadable_or_non_pem_ca_file_fails_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LF_KAFKA_PW", "pw")
    kafka = {
        "bootstrap_servers": ["k:1"],
        "security_protocol": "SASL_SSL",
        "sasl_username": "u",
        "sasl_password": {"env": "LF_KAFKA_PW"},
        "ssl_cafile": str(tmp_path / "missing.pem"),
    }
    cfg = config.parse({**GOOD_ARCHIVER, "kafka": kafka})
    with pytest.raises(ConfigError, match=r"^kafka\.ssl_cafile: cannot read .*missing\.pem"):
        config.check_secrets(cfg)
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    kafka["ssl_cafile"] = str(tmp_path / "key.pem")
    cfg = config.parse({**GOOD_ARCHIVER, "kafka": kafka})
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        config.check_secrets(cfg)


def test_secret_ref_reads_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LF_TEST_TOKEN", "tok")
    assert config.SecretRef(env="LF_TEST_TOKEN").read("k") == "tok"
    f = tmp_path / "s"
    f.write_text("from-file\n")
    assert config.SecretRef(file=f).read("k") == "from-file"


def test_missing_secret_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LF_NOPE", raising=False)
    with pytest.raises(ConfigError, match=r"^source\.bearer_token: environment variable LF_NOPE"):
        config.SecretRef(env="LF_NOPE").read("source.bearer_token")


def test_secret_ref_needs_exactly_one() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        config.SecretRef()


def test_check_secrets_walks_nested_refs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LF_S3_KEY", raising=False)
    cfg = config.parse(
        {
            **GOOD_SHIPPER,
            "s3": {
                "bucket": "my-lake",
                "access_key": {"env": "LF_S3_KEY"},
                "secret_key": {"env": "LF_S3_KEY"},
            },
        }
    )
    with pytest.raises(ConfigError, match=r"^s3\.access_key: "):
        config.check_secrets(cfg)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("kind: shipper\ns3: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        config.load(path)


def test_load_checks_the_kind_the_command_needs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a collector config"):
        config.load(write(tmp_path, GOOD_SHIPPER), kind="collector")


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, GOOD_ARCHIVER)
    assert cli.main(["check-config", str(good)]) == 0
    assert "ok (archiver)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**GOOD_ARCHIVER, "topicz": ["x"]}))
    assert cli.main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "topicz: unknown key" in err


def test_daemon_with_bad_config_exits_2_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    bad = write(tmp_path, {**GOOD_ARCHIVER, "spool_dir": str(spool), "rotate": {"max_records": 0}})
    assert cli.main(["archive", "-c", str(bad)]) == 2
    assert "rotate.max_records" in capsys.readouterr().err
    assert not spool.exists()


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ship", "-c", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read config" in capsys.readouterr().err
