"""lakefeed: stream APIs through a self-managed Kafka cluster into an S3 data lake."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lakefeed")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
