# One image for every Conveyor process: migrate, workers, beat, Flower, and the CLIs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CONVEYOR_HOME=/var/lib/conveyor \
    CONVEYOR_LOG_FORMAT=json

RUN groupadd --system conveyor && useradd --system --gid conveyor --home-dir /var/lib/conveyor conveyor \
    && mkdir -p /var/lib/conveyor && chown conveyor:conveyor /var/lib/conveyor

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY cli ./cli
COPY tasks ./tasks
COPY workers ./workers
COPY domain ./domain
COPY store ./store
COPY api ./api
RUN pip install ".[ops]"

USER conveyor
# `celery -A config` and `conveyor` both find the installed packages from here.
CMD ["conveyor", "--help"]
