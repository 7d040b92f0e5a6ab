"""Demo data: a realistic, deterministic population, written through the record writer."""
