"""Renders the local scrape configuration: one job per service on its loopback port."""

from __future__ import annotations

HEADER = """\
# Local scrape configuration, rendered by deploy/prometheus/config.py from the service ports
# in shared/settings.py. Regenerate with: python -m deploy.prometheus.config > deploy/prometheus/prometheus.yml
global:
  scrape_interval: 5s
  evaluation_interval: 5s

rule_files:
  - {rules}
{alerting}
scrape_configs:
"""


def render(
    service_ports: dict[str, int], host: str | None = "127.0.0.1", rules: str = "alerts.yml",
    alertmanager: str | None = None,
) -> str:
    """Prometheus YAML scraping each service's /metrics (host None: the service's own name), sending
    alerts to `alertmanager` (host:port) when given."""
    jobs = []
    for name, port in service_ports.items():
        target_host = host or name
        jobs.append(
            f"  - job_name: {name}\n"
            f"    metrics_path: /metrics\n"
            f"    static_configs:\n"
            f"      - targets: ['{target_host}:{port}']\n"
            f"        labels:\n"
            f"          service: {name}\n"
        )
    alerting = ("\nalerting:\n  alertmanagers:\n    - static_configs:\n"
                f"        - targets: ['{alertmanager}']\n") if alertmanager else ""
    return HEADER.format(rules=rules, alerting=alerting) + "".join(jobs)


if __name__ == "__main__":
    import sys

    from shared.settings import SERVICE_PORTS

    compose = sys.argv[1:] == ["--compose"]
    text = render(SERVICE_PORTS, host=None if compose else "127.0.0.1",
                  alertmanager="alertmanager:9093" if compose else None)
    if compose:
        text = text.replace("Local scrape configuration", "Scrape configuration for docker-compose")
        text = text.replace("config > deploy/prometheus/prometheus.yml",
                            "config --compose > deploy/prometheus/prometheus.compose.yml")
    print(text, end="")
