"""Diffusion models: noise schedules, the forward process, training and samplers (DDPM, DDIM, guidance, editing)."""
