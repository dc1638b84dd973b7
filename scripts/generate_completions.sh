#!/bin/sh
# Writes chatstream's shell completion scripts, exactly as Typer generates them, into DIR (default:
# chatstream_cli/data/completions, where the wheel ships them and `chatstream completions SHELL` reads
# them). tests/test_completions.py runs it and fails when the committed scripts differ.
# Usage: sh scripts/generate_completions.sh [DIR]   (PYTHON picks the interpreter)
set -eu
out=${1:-$(dirname "$0")/../chatstream_cli/data/completions}
python=${PYTHON:-python}
for shell in bash zsh fish; do
    case $shell in
        bash) name=chatstream.bash ;;
        zsh) name=_chatstream ;;
        fish) name=chatstream.fish ;;
    esac
    # Typer's switch that makes --show-completion take the shell's name instead of detecting it.
    _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION=1 "$python" -m chatstream_cli --show-completion "$shell" >"$out/$name"
done
