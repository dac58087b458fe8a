"""Administration in the browser, for administrators only: agents (invitations, roles,
disabling, password and two-factor resets) and customer accounts (names, domains,
contacts, approvers), through the same services as ``flask agents`` and ``flask accounts``.

``views.py`` holds the blueprint and its administrator check; each area registers its
routes on it from a module of its own, imported here so that importing the blueprint
brings every route with it. A new area (mailboxes) adds its module to this import and
an entry to ``views.SECTIONS`` for the navigation.
"""

from app.admin import accounts, agents, oauth  # noqa: F401 (registers their routes on views.bp)
from app.admin.views import bp

__all__ = ["bp"]
