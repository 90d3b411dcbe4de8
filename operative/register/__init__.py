"""What the register holds and how it changes: resolutions, obligations, steps, documents, records,
approvals, users, Member States.
"""
