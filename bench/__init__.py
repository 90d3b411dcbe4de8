"""Performance scenarios, each measured beside a baseline in the same run (``python -m bench``)."""
