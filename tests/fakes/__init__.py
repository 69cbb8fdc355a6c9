"""Test doubles shared by the whole suite (the fake Anthropic server lives in anthropic_server)."""
