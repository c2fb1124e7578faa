"""The factory pipeline: a builder's plain-words change request becomes a preview release.

A ``ChangeRequest`` moves analysing → awaiting answers → planning → building → checking →
preview → deployed (or failed / cancelled). Each step is a Celery task (``tasks``) that
hands over to ``services``; the agents are run through the harness (``factory.agents``),
the release is built and deployed by ``factory.tenants``. The builders' console
(``admin``) and the factory's REST API (``api``) only call services.
"""
