"""Writes of the matching app, one module per aggregate: `runs` (a run of the matcher and the pairs it
proposes) and `decisions` (an officer's or the policy's verdict on a pair, and the merge it leads to)."""
