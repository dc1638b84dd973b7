"""What a model gets when nothing sets it: the defaults the core, the CLI's help and config agree on."""

DEFAULT_TIMEOUT = 60.0
"""Seconds of silence allowed before a reply is given up (0 or None: no limit)."""
DEFAULT_RETRIES = 2
"""Retries of a request that failed before its first token."""
DEFAULT_MAX_FILES_SIZE = 1024 * 1024
"""The most bytes all of a prompt's ``-f`` files may come to (config.toml's ``max_files_size``)."""
