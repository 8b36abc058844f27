# Switchboard web process, the same as the Procfile's `web:` line.
# (No Docker engine runs on the development machines: tests check this file against the
# Procfile instead of building it.)
FROM python:3.11-slim

# DATABASE_URL: call records in a SQLite file the non-root user may write (compose: Postgres).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8080 \
    DATABASE_URL=sqlite:////home/switchboard/calls.db

WORKDIR /app
RUN useradd --create-home --uid 10001 switchboard

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY processors ./processors
RUN pip install .

COPY graphs ./graphs
COPY audio_cache ./audio_cache

USER switchboard
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2)"
CMD ["python", "-m", "agent", "serve"]
