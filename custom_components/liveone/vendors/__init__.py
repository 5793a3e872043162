"""Vendor clients: async, Home Assistant free, each producing the common ``Reading``."""
