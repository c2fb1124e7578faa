"""The tenant runtime: code materialised at process start, host routing, per-tenant URLs.

``bootstrap`` runs while settings load (plain DB-API, no ORM); ``urls`` builds a tenant's
URLconf from its loaded app. Nothing here changes the app registry of a running process.
"""
