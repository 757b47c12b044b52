"""Case facts in the database: the tables, replacing cases, reading them as batches."""
