"""The pure core: manifests, loading, validation, rendering, planning and status.

Nothing here touches the network, spawns a process, reads the clock or sets up logging;
``tests/test_layering.py`` checks the imports. Edges pass data in and take values out.
"""
