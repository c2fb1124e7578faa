"""Evolution of a tenant app: from one spec to the next without losing a row.

``diff`` compares two specs by stable ids and classifies each change (safe, needs a default,
destructive) with a plain-language sentence; ``impact`` counts the live values each change
touches; ``plan`` turns a diff into the answers the migration questioner gives; ``questioner``
and ``makemigrations`` run inside a ``manage.py`` subprocess, where the new app code is
importable; ``services`` drives compile → makemigrations → migrate for an evolving app.
"""
