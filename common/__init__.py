"""The ladder's shared core: data, training loop, evaluation, tracking, generation.

It knows nothing about any rung's idea. Importing `common` itself is cheap and does not
import torch (the tokenizer CLI uses `common.corpus` without torch).
"""
