"""The cookies the product sets: one registry of their names, purposes and lifetimes, and the
public page that lists them."""
