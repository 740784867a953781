"""Starter configs for a data folder (``exsyfit init``): real sites, spinning from the files."""
