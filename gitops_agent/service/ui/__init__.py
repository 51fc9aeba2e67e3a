"""The status page: a snapshot of the agent (``snapshot``), the board that keeps the newest
(``board``), its HTML (``page``, ``graph``) and its routes (``routes``), served by
``service.server`` when ``server.ui`` is on."""
