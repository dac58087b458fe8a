"""WSGI entry point for web servers and for ``flask`` to find the application."""

from app import create_app

app = create_app()
