# tongban: identity provider, issuer, web wallet and counter in one image.
# Build:  docker build -t tongban .
# Run:    docker run -p 8000:8000 -v tongban-data:/var/lib/tongban \
#           -e TONGBAN_ISSUER_URL=https://id.example.gov.cn -e TONGBAN_KEY_PASSPHRASE=... \
#           -e DATABASE_URL=postgresql://tongban@db/tongban -e REDIS_URL=redis://cache:6379/0 tongban
# TONGBAN_DEMO=0: start-up refuses an http:// issuer URL (unless TONGBAN_TLS_TERMINATED_BY_PROXY=1 with
# TONGBAN_PROXY_HOPS >= 1), plaintext keys or secrets and the demo accounts (`tongban keys seal`,
# `tongban demo-data remove` clear a volume that was initialised in demo mode).
# The counter alone (offline, from a synced cache):
#         docker run -p 8100:8100 -v counter-cache:/cache tongban \
#           tongban verifier serve --cache /cache --host 0.0.0.0 --port 8100
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TONGBAN_DATA=/var/lib/tongban TONGBAN_DEMO=0 TONGBAN_MIGRATE_AT_START=0 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/tongban-metrics TONGBAN_METRICS_PORT=9100

RUN useradd --system --create-home --home-dir /var/lib/tongban --shell /usr/sbin/nologin tongban

WORKDIR /src
COPY pyproject.toml README.md ./
COPY keys ./keys
COPY storage ./storage
COPY credentials ./credentials
COPY issuer ./issuer
COPY wallet ./wallet
COPY verifier ./verifier
COPY idp ./idp
COPY service ./service
COPY examples ./examples
RUN pip install . && rm -rf /src/build

USER tongban
WORKDIR /var/lib/tongban
VOLUME ["/var/lib/tongban"]
EXPOSE 8000
# Ready = PostgreSQL and Redis answer, keys loaded, status lists re-signed in time (/readyz; /healthz: alive).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
# `tongban init` is idempotent: keys, trust list and migrations on first start, nothing on later ones.
# `tongban migrate` brings every table to the newest revision under one lock, once, before the workers
# (TONGBAN_MIGRATE_AT_START=0: workers never migrate; one that finds the schema behind or the database away
# answers 503 and starts serving when it can).
# Metrics: every worker's counts on 127.0.0.1:9100 from the master (TONGBAN_METRICS_PORT; a sidecar scrapes it),
# or GET /metrics with TONGBAN_METRICS_TOKEN as a bearer token. Never public.
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && tongban init && tongban migrate && exec gunicorn -c python:service.gunicorn_conf -w 4 -k gthread --threads 4 -b 0.0.0.0:8000 service.wsgi:app"]
