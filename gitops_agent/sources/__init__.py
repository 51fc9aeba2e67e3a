"""Sources: where manifests come from.

``directory`` reads a plain directory (or a checkout) into a ``core.tree.SourceTree``;
``git`` clones and fetches git repositories (``auth`` builds credentials for one command);
``snapshot`` turns a command-line SOURCE into a directory and its revision; ``revisions``
gives the agent loop the current revision of its source. ``urls`` is the allow-list every
URL, path and ref passes first, and ``gitrun`` the one way a git process is started (see
SECURITY.md). The command line, ``wiring`` and the agent service call them (the engine takes
the files they read); nothing here parses manifests.
"""
