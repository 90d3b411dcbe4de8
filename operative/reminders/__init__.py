"""The one reminder policy, and the sweep that applies it."""
