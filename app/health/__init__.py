"""Liveness for load balancers and a front page that says the service is up."""
