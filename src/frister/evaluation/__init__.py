"""Evaluating the stored cases and keeping the results: runs and obligations."""
