"""Tenants: live, isolated CRMs built from releases of compiled app specs.

A tenant is a host (``acme.<base domain>``) serving one compiled app (label ``t_<slug>``)
from its live release, plus a preview app (``p_<slug>``) for the release being tried.
Nothing in this package's ``__init__`` may import Django models: ``naming`` and
``runtime.bootstrap`` are imported while settings load.
"""
