"""The access domain: who may open which records of an account, and when.

- ``rules``: pure rules and the vocabulary of roles, scopes and record kinds;
- ``queries``: reading grants from the database;
- ``grants``: the life of a request and its grant (ask, decide, end), each change audited;
- ``links``: the single-purpose links company contacts use;
- ``guards``: the Flask guards views call, one per kind of permission.

Emails are not sent here: the functions that change state return what to tell whom, and
the calling view or command sends it (``app.services.access_notices``).
"""
