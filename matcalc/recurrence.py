"""Backprop through time: notes on the schedule of an unrolled recurrence."""


def bptt_notes(sched, prog, T):
    return []
