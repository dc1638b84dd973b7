"""``python -m chatstream_cli``."""

from .cli import main

main()
