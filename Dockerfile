# The chatmem image: the worker, migrate and the other subcommands (no embedded servers).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LOG_FORMAT=json
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY infra ./infra
COPY worker ./worker
RUN pip install --no-cache-dir . && useradd --system --uid 10001 chatmem
USER chatmem
CMD ["chatmem", "worker"]
