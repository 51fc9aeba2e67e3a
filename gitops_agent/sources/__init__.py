"""Sources: where manifests come from (a local directory, a git repository)."""
