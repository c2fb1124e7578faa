"""The sandbox: compiled apps are imported, checked, migrated and tested in subprocesses.

Public API: ``sandbox_check_app`` (the full check of one app, a ``CheckReport``),
``sandbox_run_manage`` and ``sandbox_run_script`` (one command or script in a scratch
project, for the evolution code) and ``scratch_postgres_database``. See
``factory.sandbox.runner`` for the contract.
"""

from factory.sandbox.runner import (
    CheckReport,
    CheckStep,
    SandboxError,
    TestCounts,
    sandbox_check_app,
    sandbox_run_manage,
    sandbox_run_script,
    scratch_postgres_database,
    scratch_project,
)

__all__ = [
    "CheckReport",
    "CheckStep",
    "SandboxError",
    "TestCounts",
    "sandbox_check_app",
    "sandbox_run_manage",
    "sandbox_run_script",
    "scratch_postgres_database",
    "scratch_project",
]
