"""The management area: the dashboard, the audit log viewer and the privacy policy's notices,
for managers and administrators.

``views.py`` holds the blueprint and its check; ``policy.py`` adds its routes to it, and is
imported here so that importing the blueprint brings them.
"""

from app.manage import policy  # noqa: F401 (registers its routes on views.bp)
