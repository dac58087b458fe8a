"""The support console: the ticket queue, tickets, accounts and per-agent settings."""
