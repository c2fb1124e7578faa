"""Scripted scenarios that drive the real harness offline: demos, the bench, tests."""
