"""The vocabulary every layer shares: states and their one transition table, run
records and their wire codec, ids and run names, durations, JSON values, errors
and the project's paths. Nothing here imports any other part of orc.
"""
