"""What crosses service boundaries: event contracts, topic registry, infrastructure helpers."""
