"""Subcommands beside the default ``prompt``, one module each; cli.py registers them."""
