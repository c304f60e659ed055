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

scrape_configs:
"""


def render(
    service_ports: dict[str, int], host: str = "127.0.0.1", rules: str = "alerts.yml"
) -> str:
    """Prometheus YAML scraping each service's /metrics."""
    jobs = []
    for name, port in service_ports.items():
        jobs.append(
            f"  - job_name: {name}\n"
            f"    metrics_path: /metrics\n"
            f"    static_configs:\n"
            f"      - targets: ['{host}:{port}']\n"
            f"        labels:\n"
            f"          service: {name}\n"
        )
    return HEADER.format(rules=rules) + "".join(jobs)


if __name__ == "__main__":
    from shared.settings import SERVICE_PORTS

    print(render(SERVICE_PORTS), end="")
