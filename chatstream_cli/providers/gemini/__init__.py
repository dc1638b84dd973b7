"""Gemini's wire family: the Gemini API (``gemini``, :mod:`.model`) and Gemini on Vertex AI (:mod:`.vertex`),
one request body and one translator (:mod:`.wire`)."""
