"""Pure array transforms of NMR data: raw-data processing, line profiles and noise."""
