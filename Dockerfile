# One image for every Conveyor process: migrate, workers, beat, Flower, and the CLIs.
#
# Base pinned by digest. python:3.11.7-slim-bookworm is the Python requirements.lock was
# resolved with (3.11.7). The digest was taken from a public Dockerfile that pins this tag
# (nalabelle/build, images/digests.Dockerfile); this machine reaches no image registry, so
# it was not checked against the registry here: `docker buildx imagetools inspect
# python:3.11.7-slim-bookworm` shows the current one.
FROM python:3.11.7-slim-bookworm@sha256:d11b9bd5e49ea7401753d78f4d3b56f3aec952b85b49bcae88981f0452818e0b

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CONVEYOR_HOME=/var/lib/conveyor \
    CONVEYOR_LOG_FORMAT=json

# A fixed uid/gid (999) so that Kubernetes' runAsUser matches the image's user.
RUN groupadd --system --gid 999 conveyor \
    && useradd --system --uid 999 --gid conveyor --home-dir /var/lib/conveyor conveyor \
    && mkdir -p /var/lib/conveyor/runs && chown -R conveyor:conveyor /var/lib/conveyor \
    && chmod 0700 /var/lib/conveyor

WORKDIR /app

# Layer 1: the dependencies, exact versions with their hashes. It changes only with
# requirements.lock, so a source change does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Layer 2: the source, installed without dependencies (they are all in layer 1).
COPY pyproject.toml README.md ./
COPY common ./common
COPY config ./config
COPY cli ./cli
COPY tasks ./tasks
COPY workers ./workers
COPY domain ./domain
COPY store ./store
COPY api ./api
RUN pip install --no-deps . && pip check

USER conveyor
# `celery -A config` and `conveyor` both find the installed packages from here.
CMD ["conveyor", "--help"]
