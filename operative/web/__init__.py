"""The web app of operative: the secretariat's dashboard, its JSON API and the Member State
portal (FastAPI, server-rendered Jinja2 pages, htmx vendored in ``static/``).

Start it with ``operative web``; build it with :func:`operative.web.app.create_app`.
"""
