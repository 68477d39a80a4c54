"""The Textual dashboard behind `orc tui`. It talks to the daemon only through `orchestrate.client`."""
