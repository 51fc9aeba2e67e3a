"""The command handlers of ``gitops-agent``, one module per group of verbs.

``cli`` parses arguments and calls these; they read sources, build edges through
``gitops_agent.wiring``, call the engine and print. Each returns the exit code of DESIGN §4.1.
"""
