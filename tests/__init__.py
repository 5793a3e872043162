"""LiveOne tests."""
