"""Running the model: a scenario's plan to an engine's inputs, one run to a Dataset, ensembles."""
