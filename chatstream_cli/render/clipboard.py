"""Text onto the clipboard through the terminal: the OSC 52 escape, which works over ssh and needs no
clipboard program, and which terminals that may not honour it (or may have it turned off) are."""

from __future__ import annotations

import base64
from collections.abc import Mapping

#: Terminals that honour OSC 52 as they come: by TERM_PROGRAM, by a word in TERM, by a variable they set.
_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "vscode", "ghostty", "rio"})
_TERMS = ("kitty", "alacritty", "foot", "wezterm", "ghostty", "contour")
_VARIABLES = ("KITTY_WINDOW_ID", "WT_SESSION", "ALACRITTY_WINDOW_ID", "WEZTERM_PANE")


def osc52(text: str) -> bytes:
    """The escape that sets the clipboard ("c") to ``text``."""
    return b"\x1b]52;c;" + base64.b64encode(text.encode("utf-8")) + b"\x07"


def doubt(env: Mapping[str, str]) -> str | None:
    """Why the terminal may drop an OSC 52 (None: it is one known to take it)."""
    if env.get("TMUX"):
        return "inside tmux it reaches the clipboard with `set -g set-clipboard on` in ~/.tmux.conf"
    if env.get("STY"):
        return "GNU screen does not pass it on"
    term = env.get("TERM", "")
    if env.get("TERM_PROGRAM") in _PROGRAMS or any(name in term for name in _TERMS):
        return None
    if any(env.get(name) for name in _VARIABLES):
        return None
    return "your terminal may not support it or may have it turned off (xterm: allowWindowOps)"
