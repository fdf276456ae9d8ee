"""Rows 1-4 of bench/run: collector, archiver, shipper and end to end (row 5, deploying,
is bench_deploy.py). Each measures lakefeed and its peer in this run, on this machine.

One module per row group, each a mixin of rows_base.BenchBase; `Bench` is all of them.
"""

from __future__ import annotations

from rows_archiver import ArchiverRows
from rows_base import CONFLUENT_KAFKA_VERSION, DEFAULT, QUICK, Plan
from rows_collector import CollectorRows
from rows_e2e import EndToEndRow
from rows_shipper import ShipperRows

__all__ = ["CONFLUENT_KAFKA_VERSION", "DEFAULT", "QUICK", "Bench", "Plan"]


class Bench(CollectorRows, ArchiverRows, ShipperRows, EndToEndRow):
    """The rows bench/run emits: row_collector, row_producer_trial, rows_archiver,
    rows_shipper, row_e2e."""
