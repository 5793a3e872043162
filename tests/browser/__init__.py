"""Browser tests of the LiveOne panel and card (a real Home Assistant, Debian Chromium, Playwright)."""
