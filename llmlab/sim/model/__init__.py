"""The model: the catalog of models with prices and lifecycles, the language model over real
tiktoken vocabularies, sampling, and the skills (triage, summaries, extraction) answers use."""
