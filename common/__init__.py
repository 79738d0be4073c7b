"""The ladder's shared core: data, training loop, evaluation, tracking, generation.

It knows nothing about any rung's idea. Importing `common` itself is cheap, and `common.corpus`
and `common.data` (corpus, tokenizer, token cache) run without torch.
"""
