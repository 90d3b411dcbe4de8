"""Everything that talks to Prefect beyond the entrypoints: the approval gate, artifacts, the local
server, serving and deployments, the demo.
"""
