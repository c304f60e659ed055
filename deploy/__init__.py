"""Deployment assets: local launchers, Prometheus configuration, Kafka's Maven project."""
