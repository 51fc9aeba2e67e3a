"""kubesim: a Kubernetes API server emulator for tests and offline use.

``KubeSim`` (a context manager) serves the API on 127.0.0.1 so that the real ``kubernetes``
client and ``kubectl`` talk to it; ``SimConfig`` sets its delays; ``Fault`` and
``OutcomeRule`` drive fault injection and pod outcomes. See README.md beside this file.
"""

from gitops_agent.testing.kubesim.control import Fault, RequestRecord
from gitops_agent.testing.kubesim.outcomes import Outcome, OutcomeRule
from gitops_agent.testing.kubesim.simulator import KubeSim, SimConfig

__all__ = ["Fault", "KubeSim", "Outcome", "OutcomeRule", "RequestRecord", "SimConfig"]
