"""Neural-network building blocks written from scratch (attention, positions, blocks, U-Net)."""
