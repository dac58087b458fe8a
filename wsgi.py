"""WSGI entry point for web servers and for ``flask`` to find the application."""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One sentence for the operator instead of a traceback, from gunicorn and flask alike.
    sys.exit(f"Configuration error: {exc}.")
