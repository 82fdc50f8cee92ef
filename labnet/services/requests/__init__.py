"""The requests area: access, service and joint-project requests from a company to labs.

:mod:`.workflow` owns every write to a request, a lab's answer or a message, and the
request workflow (``RequestStatus``); callers commit, nothing is written when it raises.
"""
