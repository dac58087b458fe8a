"""Access-matrix rows for the search pages: (endpoint, method) -> who -> outcome."""

SEARCH_ROUTES: dict = {}
