"""Claude's wire family: the Messages API over httpx (``model``, ``http``), through the anthropic SDK
(``sdk``), and on Amazon Bedrock and Google Vertex AI (``platform``, ``bedrock``, ``vertex``).

What they share: the request body and reply length (``model``, ``max_tokens``), the SSE wire
(``wire``), the stream's translation into chunks and events (``events``, ``blocks``) and Bedrock's
AWS event-stream frames (``aws_event_stream``). Nothing is imported here, so naming one module
never loads the others.
"""
