"""The management area: the dashboard and the audit log viewer, for managers and administrators."""
