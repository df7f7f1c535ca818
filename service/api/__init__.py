"""The HTTP layer: controllers parse, authorize and translate; the work lives elsewhere."""
