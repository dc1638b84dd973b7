"""The prompting package's pure parts: code extraction, templates, type sniffing, limits, JSON in pieces."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatstream_cli.errors import UsageError
from chatstream_cli.jsonbody import LARGE, json_pieces, streamed_body
from chatstream_cli.messages import HumanMessage
from chatstream_cli.prompting.assemble import Prompt, joined_system
from chatstream_cli.prompting.attachments import MB, Attachment, check_accepted, check_limits
from chatstream_cli.prompting.extract import code_blocks, extract_code
from chatstream_cli.prompting.files import ContextFile, Skipped, skipped_notice
from chatstream_cli.prompting.media import sniff_media_type
from chatstream_cli.prompting.roles import BUILTIN_ROLES, Role, all_roles, find_role, save_role
from chatstream_cli.prompting.stdin import Stdin
from chatstream_cli.providers.anthropic.model import to_anthropic_messages

# -- extraction ----------------------------------------------------------------------------------


def test_first_and_last_blocks_without_fences() -> None:
    reply = "Try:\n```python\nprint(1)\n```\nthen\n````\nuse ``` inside\n````\n"
    assert extract_code(reply) == "print(1)\n"
    assert extract_code(reply, last=True) == "use ``` inside\n"


def test_tildes_indentation_and_an_unclosed_block() -> None:
    reply = "  ~~~sh\n  ls -l\n   cd /\n  ~~~\n\n```bash\necho cut short"
    assert code_blocks(reply) == ["ls -l\n cd /\n", "echo cut short\n"]


def test_what_is_not_a_fence() -> None:
    assert extract_code("inline ``` code ``` here\n    ```\n    indented four\n    ```\n") is None
    assert extract_code("```not`a fence\nx\n") is None
    assert extract_code("```\n```\n") == ""


# -- roles and templates -------------------------------------------------------------------------


def test_template_fills_input_variables_and_literal_braces() -> None:
    role = Role("r", template="{{lang}} {lang}: {input} {not a var} {}", params={"lang": "Go"})
    assert role.fill("hi", {}) == "{lang} Go: hi {not a var} {}"
    assert role.fill("hi", {"lang": "Rust"}) == "{lang} Rust: hi {not a var} {}"


def test_a_template_without_input_gets_the_words_after_it() -> None:
    role = Role("r", template="Summarise.")
    assert role.fill("the text", {}) == "Summarise.\n\nthe text"
    assert not role.needs_input and Role("s").needs_input


def test_a_saved_role_shadows_the_built_in_one() -> None:
    save_role(Role("shell", system="Be a fish."))
    assert find_role("shell").system == "Be a fish."
    assert [role.name for role in all_roles()] == sorted(BUILTIN_ROLES)
    with pytest.raises(UsageError, match="did you mean review"):
        find_role("reveiw")


def test_role_names_are_checked() -> None:
    with pytest.raises(UsageError, match="is not a role name"):
        find_role("../escape")


# -- files and stdin -----------------------------------------------------------------------------


def test_file_block_ends_its_text_with_a_newline() -> None:
    assert ContextFile("a.txt", "no newline", 10).block() == '<file path="a.txt">\nno newline\n</file>'
    assert ContextFile("e.txt", "", 0).block() == '<file path="e.txt">\n</file>'


def test_skipped_notice_names_the_first_few() -> None:
    skipped = [Skipped(f"f{n}.bin", "binary") for n in range(7)]
    assert skipped_notice(skipped[:1]) == "-f left out 1 file: f0.bin (binary)"
    assert skipped_notice(skipped).endswith("f4.bin (binary) and 2 more")


def test_stdin_is_read_once_and_not_when_ignored() -> None:
    stdin = Stdin(io.BytesIO(b"data"), is_tty=False)
    assert stdin.piped
    assert stdin.take("-f -") == b"data"
    assert not stdin.piped
    with pytest.raises(UsageError, match="both read stdin"):
        stdin.take("-a -")
    assert not Stdin(io.BytesIO(b""), is_tty=False, ignored=True).piped


def test_system_prompt_and_system_files_join_with_blank_lines() -> None:
    assert joined_system("Be brief.\n", ["One.\n", "Two."]) == "Be brief.\n\nOne.\n\nTwo."
    assert joined_system(None, []) is None


# -- attachments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0..JFIF", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\n\n%PDF-1.7\n", "application/pdf"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"plain text", None),
    ],
)
def test_the_type_comes_from_the_bytes(head: bytes, media_type: str | None) -> None:
    assert sniff_media_type(head) == media_type


def attachment(kind: str, size: int) -> Attachment:
    media_type = "application/pdf" if kind == "pdf" else "image/png"
    return Attachment(f"x.{kind}", media_type, size, "0" * 64, base64="A" * (size * 4 // 3))


def test_limits_per_provider() -> None:
    check_limits([attachment("png", 5 * MB)], "anthropic")
    check_limits([attachment("png", 6 * MB)], "ollama")  # no documented limit: the server decides
    with pytest.raises(UsageError, match=r"over openai's 32\.0 MB limit"):
        check_limits([attachment("pdf", 20 * MB), attachment("pdf", 13 * MB)], "openai")
    with pytest.raises(UsageError, match=r"over anthropic's 32\.0 MB request limit"):
        check_limits([attachment("pdf", 25 * MB)], "anthropic")


def test_refusal_names_the_providers_that_can() -> None:
    accepting = {"a": frozenset({"image", "pdf"}), "b": frozenset({"image"}), "c": frozenset({"image", "pdf"})}
    check_accepted([attachment("png", 1)], "b", accepting)
    with pytest.raises(UsageError) as caught:
        check_accepted([attachment("pdf", 1)], "b", accepting)
    assert str(caught.value) == "b cannot take PDFs (providers that can: a, c)"


def test_anthropic_gets_url_sources_for_urls() -> None:
    url = Attachment("https://x/y.pdf", "application/pdf", None, None, url="https://x/y.pdf")
    prompt = Prompt("read", attachments=[url])
    _, turns = to_anthropic_messages(prompt.messages())
    assert turns[0]["content"][0] == {"type": "document", "source": {"type": "url", "url": "https://x/y.pdf"}}
    assert isinstance(prompt.messages()[0], HumanMessage)


def test_attachments_alone_make_a_prompt() -> None:
    png = Attachment("a.png", "image/png", 1, "0", base64="AA==")
    assert Prompt("", attachments=[png]).human_content() == [
        {"type": "image", "base64": "AA==", "mime_type": "image/png"}
    ]


# -- JSON bodies in pieces -----------------------------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_json_pieces_are_the_same_document(value: object) -> None:
    assert json.loads(b"".join(json_pieces(value))) == value


def test_a_large_string_is_sliced_and_the_length_counted() -> None:
    text = "é\n\U0001f600" * LARGE
    body = {"messages": [{"content": text}], "n": 1}
    length, pieces = streamed_body(body)
    assert max(len(piece) for piece in pieces()) < 12 * LARGE + 8  # slices, never the whole string at once
    data = b"".join(pieces())
    assert (len(data), json.loads(data)) == (length, body)
