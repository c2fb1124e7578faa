"""The agent harness: runs agents that edit a tenant's app spec through typed tools.

A run (``AgentRun``) is one agent role working on one task; each model turn
(``AgentTurn``) is persisted as it happens, so a run that dies resumes from its last turn
and any run can be read and replayed. Writes go through ``services``, reads through
``selectors``; the loop lives in ``harness``, the tools in ``tools``, the vendor-neutral
model interface in ``factory.llm``.
"""
