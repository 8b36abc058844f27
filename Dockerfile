# Switchboard web process, the same as the Procfile's `web:` line.
# With no provider keys it serves the local graph (Whisper, Piper: the `local` extra, models
# inside the packages); with keys in the environment, the receptionist graph.
# (No Docker engine runs on the development machines: tests/test_deploy_files.py checks the
# layers and tests/test_project.py the command, instead of building it.)
FROM python:3.11-slim

# DATABASE_URL: call records in a SQLite file the non-root user may write (compose: Postgres).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080 \
    DATABASE_URL=sqlite:////home/switchboard/calls.db

WORKDIR /app
RUN useradd --create-home --uid 10001 switchboard

# Dependencies first, in a layer that depends on pyproject.toml alone, so a code change does
# not reinstall them: the project's dependencies and its `local` extra, read from the file.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print(*p['dependencies'], *p['optional-dependencies']['local'], sep=chr(10))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the code (the project itself, without touching the dependencies).
COPY README.md ./
COPY agent ./agent
COPY processors ./processors
RUN pip install --no-deps .
COPY graphs ./graphs
COPY audio_cache ./audio_cache

USER switchboard
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2)"
CMD ["python", "-m", "agent", "serve"]
