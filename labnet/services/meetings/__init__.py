"""Meetings between consortia during an event: profiles on the Meet page, 1:1
meeting requests in the event's slots, answers, each person's schedule and the organisers'
figure of meetings between partners of different projects.

- :mod:`.slots`: the event's meeting slots (pure time maths in the event's zone);
- :mod:`.rules`: the writes (profile, request, answer, withdraw/cancel) and their rules;
- :mod:`.pages`: the reads (the Meet page, a schedule, the .ics, the figures).
"""
