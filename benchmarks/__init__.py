"""Speed and peak-memory benchmarks of segloss_xp against MONAI, smp, kornia, optax and SciPy.

Entry point: ``python -m benchmarks.run`` (``./dev bench``); method and how to
read the tables in ``benchmarks/README.md``. Modules: ``registry`` (workloads and
rows), ``measure`` (one row in a fresh process), ``run`` (the plan and the
report), ``targets`` (the targets of issues 8 and 9), ``chart`` (the PNG of the
target ratios), ``readme`` (README's speed table from the newest results),
``peers`` (lazy peer imports).
"""
