"""Access-matrix rows for the search pages: (endpoint, method) -> who -> outcome.

The matrix's URLs carry no query, so the exports answer 400 to the roles that may
export and 403 to agents; ``saved_id`` names no saved search.
"""

SIGNED_OUT = {"anonymous": "login", "disabled": "login"}

SEARCH_ROUTES: dict = {
    ("search.page", "GET"): {**SIGNED_OUT, "agent": 200, "manager": 200, "admin": 200},
    ("search.save", "POST"): {**SIGNED_OUT, "agent": "redirect", "manager": "redirect", "admin": "redirect"},
    ("search.delete_saved", "POST"): {**SIGNED_OUT, "agent": "redirect", "manager": "redirect",
                                      "admin": "redirect"},
    ("search.export_csv", "GET"): {**SIGNED_OUT, "agent": 403, "manager": 400, "admin": 400},
    ("search.export_mbox", "GET"): {**SIGNED_OUT, "agent": 403, "manager": 400, "admin": 400},
}
