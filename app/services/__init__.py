"""Use cases: each takes what it needs as arguments, flushes, and leaves committing to the caller."""
