"""The long-running agent's services: HTTP server (``server``), webhook parsing
(``webhooks``) and metrics (``metrics``); the scheduler joins them later."""
