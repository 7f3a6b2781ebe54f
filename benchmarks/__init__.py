"""Speed and peak-memory benchmarks of segloss_xp against MONAI, smp, kornia and optax.

Entry point: ``python -m benchmarks.run`` (``./dev bench``); method and how to
read the tables in ``benchmarks/README.md``.
"""
