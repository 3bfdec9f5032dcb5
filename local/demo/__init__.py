"""Demo data for ``make up``: ``demo.toml`` (the data), ``schema`` (its validated model and loader) and
``load`` (writes it into the tables and prints what a newcomer needs to log in).
"""
