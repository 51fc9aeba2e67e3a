"""Targets: where resources run. Impure edges behind one interface (DESIGN §3).

``localproc`` is the process supervisor the embedded local target stands on: process groups
(a Worker's replicas, a workflow step's one-shot run) kept by a daemon per state directory.
The Kubernetes target and the adapters that the engine calls live beside it.
"""
