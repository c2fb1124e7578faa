"""Models of the factory itself (agent runs, tenants, releases) are split by concern.

Each concern keeps its models in its own package and they are imported here so Django
finds them under the ``factory`` app.
"""
