"""GANs: losses, spectral normalization, a training loop, 2-D and image models, a style-based
generator, a real/fake detector and an invisible watermark."""
