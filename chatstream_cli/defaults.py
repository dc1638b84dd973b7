"""What a model gets when nothing sets it: the defaults the core, the CLI's help and config agree on."""

DEFAULT_TIMEOUT = 60.0
"""Seconds of silence allowed before a reply is given up (0 or None: no limit)."""
DEFAULT_RETRIES = 2
"""Retries of a request that failed before its first token."""
