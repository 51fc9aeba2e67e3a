"""Sources: where manifests come from.

``directory`` reads a plain directory (or a checkout) into a ``core.tree.SourceTree``;
``git`` clones and fetches git repositories with gitpython (``auth`` builds credentials for
one command, ``backoff`` retries network failures). The engine and the command line call
them; nothing here parses manifests.
"""
