"""The relative-depth annotation service: people answer "which of two points is closer?" as in
Depth in the Wild (Chen et al. 2016), and the answers are exported in the DIW CSV format.

An application on top of the library (the library never imports it). Layers, one job each:

* :mod:`.schema` — the SQLAlchemy tables; :mod:`.migrations` — their Alembic history;
* :mod:`.store` — every read and write of a project's database (one transaction per call);
* :mod:`.samplers` — which point pairs to ask about (``random``, ``poisson``, ``model``);
* :mod:`.quality` — gold accuracy, agreement, majority and Dawid & Skene aggregation;
* :mod:`.export` — aggregated pairs → DIW CSV + the folder format's ``relative_depth.csv``;
* :mod:`.project` — a project folder (its config, images, secret and database);
* :mod:`.web` — the FastAPI application (annotator and admin pages, JSON API);
* :mod:`.cli` — ``depthforge annotate ...``.

Its third-party parts are the optional extra ``depthforge[annotate]``.
"""
