"""The dashboard's widgets: line-API lists, the run graph, the logs, the header."""
