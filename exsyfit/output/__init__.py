"""What users look at: figures, quality-control figures and reports."""
