"""Test support shipped with the package: ``kubesim``, the Kubernetes API server emulator.

Imported by the project's tests and by offline users who want a cluster-shaped endpoint.
"""
