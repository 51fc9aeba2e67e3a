"""Manifest sources: the git repository (``git``), its auth (``auth``), retries (``backoff``)."""
