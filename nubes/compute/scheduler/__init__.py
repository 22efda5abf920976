"""The scheduler: a library the conductor calls (no service of its own).

``spec`` turns an instance's request into what placement and the filters need; ``placement``
asks placement for candidates and claims them; ``hosts`` loads each candidate's state from
compute's tables; ``filters`` and ``weighers`` are Nova's; ``explain`` says in words why no
host fits; ``select`` runs it all.
"""
