"""Evolution code that runs inside a sandbox's scratch process (``sandbox_run_script``).

These modules import only Django and the standard library: in the scratch process the name
``factory`` is factory-boy, as in any project a compiled app is handed to. The factory's
own process imports them too (the questioner in tests, the impact counter for installed
apps), as ``factory.evolution.scratch.*``.
"""
