"""OpenAI's wire family: Chat Completions over httpx (``chat``), for OpenAI itself and every
OpenAI-compatible server the registry presets name (Ollama, LM Studio, vLLM, llama.cpp, OpenRouter)
or a config file declares, and Azure OpenAI (``azure``). Nothing is imported here, so naming one module
never loads the others.
"""
