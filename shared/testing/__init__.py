"""Test helpers: real Kafka and FerretDB started or reused, services run as processes."""
