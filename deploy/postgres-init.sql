-- The Prefect server keeps its own database beside the app's (see compose.yaml).
CREATE DATABASE prefect OWNER operative;
