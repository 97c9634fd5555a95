"""Support between secretariats: workload requests, capacity offers and the allocations
between them, one bounded context.

They share one lock order (offers, then requests, then allocations), one set of figures
(`figures.py`: a request's status and hours, an offer's hours, recomputed from the
allocations) and one statement of the rules (`rules.py`). Each table has its repository
(`requests/repository.py`, `offers/repository.py`, `allocations/repository.py`), used only
inside this package; the rest of the code asks the services.
"""
