"""The whole job: stages in order, robustness variants, parallel fits, results folders, batches."""
