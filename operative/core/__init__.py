"""Plumbing with no domain words: settings, database, audit log, tokens, config files, the clock."""
