"""Chapter 2, part 2: InstructGPT's three steps (SFT, a reward model, PPO) and DPO, on a toy world."""
