"""The anthropic SDK's field order for each streamed block type, from anthropic 2.15.0
(generated: scripts/anthropic_block_fields.py). Each field: (name, default, required, holds blocks); an
absent required field stays absent, an optional one gets its default, as the SDK's ``construct()`` and
``model_dump()`` give them."""

from typing import Any

FIELDS: dict[str, tuple[tuple[str, Any, bool, bool], ...]] = {
    "anthropic": (
        ("skill_id", None, True, False),
        ("type", None, True, False),
        ("version", None, True, False),
    ),
    "base64": (
        ("data", None, True, False),
        ("media_type", None, True, False),
        ("type", None, True, False),
    ),
    "bash_code_execution_output": (
        ("file_id", None, True, False),
        ("type", None, True, False),
    ),
    "bash_code_execution_result": (
        ("content", None, True, True),
        ("return_code", None, True, False),
        ("stderr", None, True, False),
        ("stdout", None, True, False),
        ("type", None, True, False),
    ),
    "bash_code_execution_tool_result": (
        ("content", None, True, True),
        ("tool_use_id", None, True, False),
        ("type", None, True, False),
    ),
    "bash_code_execution_tool_result_error": (
        ("error_code", None, True, False),
        ("type", None, True, False),
    ),
    "char_location": (
        ("cited_text", None, True, False),
        ("document_index", None, True, False),
        ("document_title", None, False, False),
        ("end_char_index", None, True, False),
        ("file_id", None, False, False),
        ("start_char_index", None, True, False),
        ("type", None, True, False),
    ),
    "citations_delta": (
        ("citation", None, True, True),
        ("type", None, True, False),
    ),
    "code_execution_20250825": (
        ("tool_id", None, True, False),
        ("type", None, True, False),
    ),
    "code_execution_20260120": (
        ("tool_id", None, True, False),
        ("type", None, True, False),
    ),
    "code_execution_output": (
        ("file_id", None, True, False),
        ("type", None, True, False),
    ),
    "code_execution_result": (
        ("content", None, True, True),
        ("return_code", None, True, False),
        ("stderr", None, True, False),
        ("stdout", None, True, False),
        ("type", None, True, False),
    ),
    "code_execution_tool_result": (
        ("content", None, True, True),
        ("tool_use_id", None, True, False),
        ("type", None, True, False),
    ),
    "code_execution_tool_result_error": (
        ("error_code", None, True, False),
        ("type", None, True, False),
    ),
    "container_upload": (
        ("file_id", None, True, False),
        ("type", None, True, False),
    ),
    "content_block_delta": (
        ("delta", None, True, True),
        ("index", None, True, False),
        ("type", None, True, False),
    ),
    "content_block_location": (
        ("cited_text", None, True, False),
        ("document_index", None, True, False),
        ("document_title", None, False, False),
        ("end_block_index", None, True, False),
        ("file_id", None, False, False),
        ("start_block_index", None, True, False),
        ("type", None, True, False),
    ),
    "content_block_start": (
        ("content_block", None, True, True),
        ("index", None, True, False),
        ("type", None, True, False),
    ),
    "content_block_stop": (
        ("index", None, True, False),
        ("type", None, True, False),
    ),
    "custom": (
        ("skill_id", None, True, False),
        ("type", None, True, False),
        ("version", None, True, False),
    ),
    "direct": (("type", None, True, False),),
    "document": (
        ("citations", None, False, True),
        ("source", None, True, True),
        ("title", None, False, False),
        ("type", None, True, False),
    ),
    "encrypted_code_execution_result": (
        ("content", None, True, True),
        ("encrypted_stdout", None, True, False),
        ("return_code", None, True, False),
        ("stderr", None, True, False),
        ("type", None, True, False),
    ),
    "input_json_delta": (
        ("partial_json", None, True, False),
        ("type", None, True, False),
    ),
    "message": (
        ("id", None, True, False),
        ("container", None, False, True),
        ("content", None, True, True),
        ("diagnostics", None, False, True),
        ("model", None, True, False),
        ("role", None, True, False),
        ("stop_details", None, False, True),
        ("stop_reason", None, False, False),
        ("stop_sequence", None, False, False),
        ("type", None, True, False),
        ("usage", None, True, True),
    ),
    "message_delta": (
        ("delta", None, True, True),
        ("type", None, True, False),
        ("usage", None, True, True),
    ),
    "message_start": (
        ("message", None, True, True),
        ("type", None, True, False),
    ),
    "message_stop": (("type", None, True, False),),
    "messages_changed": (
        ("cache_missed_input_tokens", None, True, False),
        ("type", None, True, False),
    ),
    "model_changed": (
        ("cache_missed_input_tokens", None, True, False),
        ("type", None, True, False),
    ),
    "page_location": (
        ("cited_text", None, True, False),
        ("document_index", None, True, False),
        ("document_title", None, False, False),
        ("end_page_number", None, True, False),
        ("file_id", None, False, False),
        ("start_page_number", None, True, False),
        ("type", None, True, False),
    ),
    "previous_message_not_found": (("type", None, True, False),),
    "redacted_thinking": (
        ("data", None, True, False),
        ("type", None, True, False),
    ),
    "refusal": (
        ("category", None, False, False),
        ("explanation", None, False, False),
        ("type", None, True, False),
    ),
    "search_result_location": (
        ("cited_text", None, True, False),
        ("end_block_index", None, True, False),
        ("search_result_index", None, True, False),
        ("source", None, True, False),
        ("start_block_index", None, True, False),
        ("title", None, False, False),
        ("type", None, True, False),
    ),
    "server_tool_use": (
        ("id", None, True, False),
        ("caller", None, False, True),
        ("input", None, True, False),
        ("name", None, True, False),
        ("type", None, True, False),
    ),
    "signature_delta": (
        ("signature", None, True, False),
        ("type", None, True, False),
    ),
    "system_changed": (
        ("cache_missed_input_tokens", None, True, False),
        ("type", None, True, False),
    ),
    "text": (
        ("citations", None, False, True),
        ("text", None, True, False),
        ("type", None, True, False),
    ),
    "text_delta": (
        ("text", None, True, False),
        ("type", None, True, False),
    ),
    "text_editor_code_execution_create_result": (
        ("is_file_update", None, True, False),
        ("type", None, True, False),
    ),
    "text_editor_code_execution_str_replace_result": (
        ("lines", None, False, False),
        ("new_lines", None, False, False),
        ("new_start", None, False, False),
        ("old_lines", None, False, False),
        ("old_start", None, False, False),
        ("type", None, True, False),
    ),
    "text_editor_code_execution_tool_result": (
        ("content", None, True, True),
        ("tool_use_id", None, True, False),
        ("type", None, True, False),
    ),
    "text_editor_code_execution_tool_result_error": (
        ("error_code", None, True, False),
        ("error_message", None, False, False),
        ("type", None, True, False),
    ),
    "text_editor_code_execution_view_result": (
        ("content", None, True, False),
        ("file_type", None, True, False),
        ("num_lines", None, False, False),
        ("start_line", None, False, False),
        ("total_lines", None, False, False),
        ("type", None, True, False),
    ),
    "thinking": (
        ("signature", None, True, False),
        ("thinking", None, True, False),
        ("type", None, True, False),
    ),
    "thinking_delta": (
        ("thinking", None, True, False),
        ("type", None, True, False),
    ),
    "tool_reference": (
        ("tool_name", None, True, False),
        ("type", None, True, False),
    ),
    "tool_search_tool_result": (
        ("content", None, True, True),
        ("tool_use_id", None, True, False),
        ("type", None, True, False),
    ),
    "tool_search_tool_result_error": (
        ("error_code", None, True, False),
        ("error_message", None, False, False),
        ("type", None, True, False),
    ),
    "tool_search_tool_search_result": (
        ("tool_references", None, True, True),
        ("type", None, True, False),
    ),
    "tool_use": (
        ("id", None, True, False),
        ("caller", None, False, True),
        ("input", None, True, False),
        ("name", None, True, False),
        ("type", None, True, False),
        ("toolset_name", None, False, False),
    ),
    "tools_changed": (
        ("cache_missed_input_tokens", None, True, False),
        ("type", None, True, False),
    ),
    "unavailable": (("type", None, True, False),),
    "web_fetch_result": (
        ("content", None, True, True),
        ("retrieved_at", None, False, False),
        ("type", None, True, False),
        ("url", None, True, False),
    ),
    "web_fetch_tool_result": (
        ("caller", None, False, True),
        ("content", None, True, True),
        ("tool_use_id", None, True, False),
        ("type", None, True, False),
    ),
    "web_fetch_tool_result_error": (
        ("error_code", None, True, False),
        ("type", None, True, False),
    ),
    "web_search_result": (
        ("encrypted_content", None, True, False),
        ("page_age", None, False, False),
        ("title", None, True, False),
        ("type", None, True, False),
        ("url", None, True, False),
    ),
    "web_search_result_location": (
        ("cited_text", None, True, False),
        ("encrypted_index", None, True, False),
        ("title", None, False, False),
        ("type", None, True, False),
        ("url", None, True, False),
    ),
    "web_search_tool_result": (
        ("caller", None, False, True),
        ("content", None, True, True),
        ("tool_use_id", None, True, False),
        ("type", None, True, False),
    ),
    "web_search_tool_result_error": (
        ("error_code", None, True, False),
        ("type", None, True, False),
    ),
}
