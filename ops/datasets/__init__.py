"""Datasets: what people download — expression matrices joined per group and normalised."""
