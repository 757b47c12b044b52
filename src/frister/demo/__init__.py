"""The demo municipality: synthetic data, and the summary a barnevernsjef reads."""
