"""Tests of scripts/validate.py."""
