"""The Python API's get_model() honours config.toml as the CLI does: aliases, default_model, [providers.NAME].
Every test has its own CHATSTREAM_HOME (conftest)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from chatstream_cli import get_model
from chatstream_cli.config import Config, config_path
from chatstream_cli.providers import PROVIDERS, activate
from chatstream_cli.providers.builtin import BuiltinChatModel
from chatstream_cli.providers.openai.chat import ChatOpenAI
from tests.conftest import REPO, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

OK_STREAM = b'data: {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}\n\n'


@pytest.fixture(autouse=True)
def forget_config_providers() -> Iterator[None]:
    """Undo what a test's config registered, so the next test sees the built-in providers only."""
    yield
    activate(Config())


def write_config(text: str) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(text)


def test_an_endpoint_and_alias_from_the_config_file(loopback_server: LoopbackServer) -> None:  # noqa: F811
    write_config(
        f'[aliases]\nfast = "work:small-model"\n\n'
        f'[providers.work]\nkind = "openai"\nbase_url = "{loopback_server.base_url}/v1"\n'
    )
    loopback_server.enqueue(Reply.sse(OK_STREAM))
    model = get_model("fast", retries=0)
    assert isinstance(model, ChatOpenAI)
    assert (model.spec.name, model.model) == ("work", "small-model")
    assert "".join(chunk.text for chunk in model.stream("hi")) == "ok"
    request = loopback_server.requests[0]
    assert (request.path, request.json["model"]) == ("/v1/chat/completions", "small-model")


def test_the_default_model_from_the_config_file() -> None:
    write_config('default_model = "rhyme"\n\n[aliases]\nrhyme = "builtin:echo"\n')
    model = get_model(delay_ms=0)
    assert isinstance(model, BuiltinChatModel) and model.model == "echo"


def test_a_changed_builtin_provider_from_the_config_file() -> None:
    write_config('[providers.ollama]\nbase_url = "http://gpu-box:11434/v1"\n')
    model = get_model("ollama:llama3.2")
    assert isinstance(model, ChatOpenAI) and model.base_url == "http://gpu-box:11434/v1"


def test_a_later_call_sees_the_config_as_it_is_now() -> None:
    write_config('[providers.work]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n')
    get_model("work:m")
    config_path().unlink()
    get_model("builtin:echo")
    assert "work" not in PROVIDERS


def test_importing_the_package_reads_no_config() -> None:
    code = "import sys, chatstream_cli; print(sorted({'tomllib', 'platformdirs'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=cli_env(), capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"
