"""gunicorn's settings for the desk's web processes; gunicorn reads ./gunicorn.conf.py by itself.

Run from the repository root, behind a reverse proxy (see "Running it in production" in
the README): `.venv/bin/gunicorn --workers 4`. Options on the command line win over these.
"""

wsgi_app = "wsgi:app"
bind = "127.0.0.1:8000"
# The application is built once, in the master, before workers start: a configuration it
# refuses stops gunicorn with one sentence, instead of leaving workers to crash in a loop.
preload_app = True
accesslog = "-"
# Time, method, path, status, bytes and milliseconds. No client address and no user agent,
# as the privacy policy promises of request logs, and no query string or Referer. The path
# of a customer link is written with its token replaced by "[token]" (app/logs.py).
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
