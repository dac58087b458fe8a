"""Administration in the browser, for administrators only: agents (invitations, roles,
disabling, password and two-factor resets), customer accounts (names, domains, contacts,
approvers), mailboxes (settings, connection test, folders, pause, and connecting OAuth2
mailboxes at their provider) and the privacy policy's versions, through the same services
as ``flask agents``, ``flask accounts``, ``flask mailbox`` and ``flask policy``.

``views.py`` holds the blueprint and its administrator check; each area registers its
routes on it from a module of its own, imported here so that importing the blueprint
brings every route with it. A new area adds its module to this import and an entry to
``views.SECTIONS`` for the navigation.
"""

from app.admin import (  # noqa: F401 (registers their routes on views.bp)
    accounts,
    agents,
    mailboxes,
    oauth,
    policy,
    targets,
)
from app.admin.views import bp

__all__ = ["bp"]
