"""Test support shipped with the package: ``kubesim`` (the Kubernetes API server emulator),
the forge API emulators and git servers (``forges``), an in-memory ``Target`` with a manual
clock (``fake``), and ``waiting.wait_for``, the one polling helper with a deadline.

Imported by the project's tests and benchmarks, and by offline users who want a
cluster-shaped endpoint. Nothing in the agent itself imports this package.
"""
