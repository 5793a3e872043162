"""Fake vendor services that tests run on 127.0.0.1 (they speak the real protocols, nothing more)."""
