"""Prometheus scrape configuration and alert rules."""
