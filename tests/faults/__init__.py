"""The fault-injection suite: seeded trials that try to make a run duplicate or lose a change.

A trial builds a small world (:mod:`.worlds`: files systems, the generic REST emulator, PowerOffice Go and
Exact Online emulators over HTTP), brings one fault into a nightly run (:mod:`.kinds`, through the seams
of :mod:`.inject`), runs the same command again with no fault, and holds the result against an oracle
(:mod:`.oracle`): no duplicate, no lost change, links and shadows that agree with both systems, and the
exit codes the command line documents. Every trial comes from a seed, so a violation can be replayed::

    python -m tests.faults                       # the full suite (make faults)
    python -m tests.faults --kind lost-answer --seed 1234 -v

``test_sample.py`` runs a seeded sample of the same trials inside ``make test``.
"""
