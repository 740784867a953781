"""Exchange physics: Bloch-McConnell mixing matrices, temperature laws, diffusion, matrix log."""
