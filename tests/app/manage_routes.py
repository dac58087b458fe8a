"""Access-matrix rows for the management pages: (endpoint, method) -> who -> outcome."""

MANAGE_ROUTES: dict = {}
