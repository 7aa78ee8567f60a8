"""Expression matrices: quantile normalisation, scaling, joins and compendium steps."""
