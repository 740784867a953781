"""Peak volumes from 2D spectra: regions, box and line-shape integration, checks, volume tables."""
