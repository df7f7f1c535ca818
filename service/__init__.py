"""Originframe service: HTTP API, auth, jobs and workers, storage, database, CLI, generation backends."""

__version__ = "0.1.0"
