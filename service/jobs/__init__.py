"""Durable jobs: a Huey task queue carries ids; leases in the SQL database decide who runs what."""
