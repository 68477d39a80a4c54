"""`orc up`: the daemon that schedules, dispatches and supervises flow runs for one project."""
