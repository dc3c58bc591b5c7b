"""Model code shared by training and serving: architectures, constants, checkpoints, decoding."""
