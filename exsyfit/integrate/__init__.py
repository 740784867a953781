"""Peak volumes from 2D spectra, and the volume table.

Modules, in the order the data flow through them:

``options``        :class:`IntegrationOptions` (the ``[integration]`` table) and its validation
``groups``         spectra grouped by temperature and axes; sites searched, shapes fitted
``shapes``         the site search (within ``search_ppm``) and the shared line-shape fit
``lines``          the line model: unit-area lines, fit windows, baseline terms
``lineshape_fit``  linear amplitudes (the volumes), their noise and shape covariance
``regions``        box and ellipse regions with their baseline frames
``method``         ``auto``: box unless its predicted overlap bias is too large
``checks``         cross-peak symmetry, t_m -> 0 intercepts, negative volumes
``series``         :func:`integrate_series`, the entry point
``results``        result containers
``volumes``        the volume-table schema, reading, validation and plausibility checks
"""
