"""Tests of the web application package: CLI, services, models."""
