"""What every command shares: loading the configuration, or exiting with one clear line."""

from __future__ import annotations

import sys

from agent.config import Config
from agent.errors import ConfigError


def load_config() -> Config:
    """The configuration (environment, .env, defaults); exit 2 naming what is wrong."""
    try:
        return Config.load()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
