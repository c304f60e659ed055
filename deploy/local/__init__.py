"""Local infrastructure: installs and starts Kafka, FerretDB and Prometheus on loopback."""
