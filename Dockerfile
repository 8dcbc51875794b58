# The ledger endpoint: hypercorn serving actors.app (ASGI, h2c) on port 9080.
# Built by docker-compose.yml; Restate registers it at http://ledger:9080.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in a layer of their own, so editing the code does not
# reinstall them: read the list straight from pyproject.toml.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself (what gets copied is trimmed by .dockerignore).
COPY . .
RUN pip install . \
    && useradd --system --no-create-home --shell /usr/sbin/nologin ledger

USER ledger
EXPOSE 9080
# granian, as `ledger serve` runs the endpoint; SIGINT stops it at once (the
# restate SDK takes over SIGTERM in its worker).
STOPSIGNAL SIGINT
CMD ["python", "-m", "runtime.granian_main", "--app", "actors.app:app", "--host", "0.0.0.0", "--port", "9080"]
