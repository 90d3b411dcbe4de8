"""The rules and texts of each playbook: what a flow decides, tested without Prefect."""
