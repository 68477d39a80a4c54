"""The dashboard's screens: main, no daemon, help, confirm, the run form, events."""
