"""The pipeline on this machine, without hosts: Kafka and MinIO as local processes
(servers.py) for the tests, the benchmarks and `lakefeed demo` (demo.py)."""
