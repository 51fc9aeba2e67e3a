"""Rendering: validated resources -> the objects a target holds for them.

``kubernetes`` is the entry (``render``, ``render_resource``); ``objects`` holds the value
types it returns and the settings it takes; the other modules each render one concern
(``workers``, ``workflows``, ``pods``, ``projections``, ``volumes``, ``metadata``,
``names``, ``context``), ``checks`` holds the validation rules rendering relies on, and ``output``
writes rendered objects as YAML or JSON. What each feature renders to is described in
``README.md`` beside this file.
"""
