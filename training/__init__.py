"""Training and evaluation of the digitserve models."""
