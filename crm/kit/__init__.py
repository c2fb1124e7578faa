"""The CRM kit: hand-written, reusable runtime pieces that every CRM app builds on.

The kit holds abstract models and behaviour only. An app built on it (the base ``crm``
app and every tenant app the factory compiles) declares its own concrete models for
notes, tasks, tags, attachments, choice lists, pipelines and the timeline, under the
conventional names listed in ``crm.kit.registry.KIT_MODEL_NAMES``, so no table is ever
shared between two apps. The kit must never import a concrete app.
"""
