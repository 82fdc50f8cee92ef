"""The networks area: value-chain networks of ordered stages, and their gaps.

- :mod:`.rules`: only coordinators and admins change a network; unique slug and name;
  stages are retired, never deleted; one invitation or membership per lab and network,
  under the network's row lock; an invitation is answered once, by the lab's managers;
- :mod:`.gaps`: the gap finder (stages without accepted members or in one country only)
  and the published labs that could fill them, in a constant number of queries.
"""
