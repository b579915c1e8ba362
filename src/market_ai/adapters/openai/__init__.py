"""OpenAI adapters: content generation on the official SDK."""
