"""LiveOne benchmark (issue 5): data generation, the driver and the inside-Home-Assistant figures."""
