"""Integrations: optional libraries orc can run on, each in a package of its own.

An integration is loaded only when its library is installed and the user asks
for it (a runner in `flows.toml`, an import in a flow file); `import orchestrate`
never loads one. It may build on the engine and the public modules, never the
reverse: the engine names no integration, so it runs the same without any.
"""
