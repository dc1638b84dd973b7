"""Building the prompt: files as context, attachments, roles and their templates, code extraction.

Plain functions and dataclasses over paths and bytes; no Typer, no Rich. ``commands/prompt.py`` calls
them and turns what they return into messages.
"""
