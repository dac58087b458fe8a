"""Pages for company contacts, opened from links in our emails; no password, the link is the key."""
