"""gitops-agent: a GitOps reconciliation agent for DataOS-style resource manifests.

The package is laid out as DESIGN §3 describes: a pure ``core`` (loading, validation,
rendering, planning, status), impure edges (``targets``, ``sources``, ``reporters``), the
``engine`` that wires them, and ``cli`` as the one composition root.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
