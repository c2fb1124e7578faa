"""The inside of the sandbox: files that run in the scratch ``python`` process only.

``entry.py`` is executed by path, so this folder is the first entry of that process's
``sys.path`` and its modules are imported as top-level modules (``sandbox_settings``,
``sandbox_urls``...). Nothing here may import the project's ``factory`` package: in the
scratch process the project root comes after site-packages, so ``factory`` is factory-boy,
which the compiled apps' sample-data factories use.
"""
