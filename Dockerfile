# One image for every service; the command picks the service (python -m services.<name>).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv PATH=/app/.venv/bin:$PATH
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends cups-client \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY shared ./shared
COPY services ./services
COPY deploy/__init__.py deploy/topics.py ./deploy/
COPY data ./data
RUN useradd --system --uid 10001 ektp && mkdir -p /var/spool/ektp && chown ektp /var/spool/ektp
USER ektp
EXPOSE 8100 8101 8102 8103 8104 8105
CMD ["python", "-m", "services.coverage"]
