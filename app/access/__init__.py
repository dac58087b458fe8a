"""The grant domain: who may open which records of an account, and when."""
