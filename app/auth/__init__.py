"""Signing agents in and out: the blueprint (``views.py``), its forms, and the Flask-Login
glue that turns a session or remember cookie into an agent (``session.py``).
"""
