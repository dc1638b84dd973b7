"""``chatstream batch``: many prompts from a file, run concurrently or by a provider's batch service.

``input`` reads the prompts as a stream, ``runner`` runs them over one event loop (importable for scripts:
:func:`~chatstream_cli.batch.runner.run_batch` yields results as they finish, tagged with their input index),
``results`` makes the JSON lines, ``resume`` reads an earlier output, ``services`` talks to the providers' own
batch APIs and ``state`` remembers their submissions.
"""
