"""Everything about mail coming in: IMAP transport, parsing, linking, the poller, imports.

This package shadows the standard library's ``mailbox`` module whenever the repository
root is on ``sys.path``; ``mailbox.stdlib`` loads the standard one explicitly where
mbox or Maildir files are read.
"""
