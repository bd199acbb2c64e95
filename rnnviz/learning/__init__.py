"""Learning: toy tasks and examples (data only), models, optimisers and the fit loop."""
